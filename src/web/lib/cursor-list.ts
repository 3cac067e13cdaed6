import { type QueryKey, useInfiniteQuery } from "@tanstack/react-query";
import { api } from "./api.js";

/**
 * A list the server hands out a page at a time (`{items, nextCursor}`): the query's pages (for
 * `LoadMore`) with their rows as one array in `data` (for `QueryView`). While a row still moves on
 * the server (`pollWhile.row`), the list is read again every `pollWhile.ms`.
 */
export function useCursorList<T>({
  queryKey,
  path,
  limit,
  pollWhile,
}: {
  queryKey: QueryKey;
  path: string;
  limit: number;
  pollWhile?: { row: (x: T) => boolean; ms: number };
}) {
  const pages = useInfiniteQuery({
    queryKey,
    queryFn: ({ pageParam }) =>
      api<{ items: T[]; nextCursor: string | null }>(path, { query: { limit, cursor: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    refetchInterval: (q) =>
      pollWhile && q.state.data?.pages.some((p) => p.items.some((x) => pollWhile.row(x))) ? pollWhile.ms : false,
  });
  return { ...pages, data: pages.data?.pages.flatMap((p) => p.items) };
}
