import * as Tabs from "@radix-ui/react-tabs";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { Button, cx, ErrorState, Spinner } from "./ui.js";

interface QueryLike<T> {
  isPending: boolean;
  error: unknown;
  data: T | undefined;
  refetch: () => unknown;
}

/** A query's three states: a spinner, the error with a retry, then `children` with the data. */
export function QueryView<T>({ query, children }: { query: QueryLike<T>; children: (data: T) => ReactNode }) {
  if (query.isPending) return <Spinner />;
  if (query.error) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  return <>{children(query.data as T)}</>;
}

type Breakpoint = "sm" | "md" | "lg" | "xl";
const HIDDEN_BELOW: Record<Breakpoint, string> = {
  sm: "hidden sm:table-cell",
  md: "hidden md:table-cell",
  lg: "hidden lg:table-cell",
  xl: "hidden xl:table-cell",
};
/** Classes of a cell shown only from a width up (phones get fewer columns). */
export function shownFrom(bp: Breakpoint | undefined): string | undefined {
  return bp ? HIDDEN_BELOW[bp] : undefined;
}

export interface Column {
  key: string;
  label: ReactNode;
  /** Hidden on narrower screens. */
  from?: Breakpoint;
  /** Only for screen readers (an actions column). */
  srOnly?: boolean;
  align?: "right";
}

/** A table that bleeds to a Card's edges and scrolls sideways when it must; rows go in `children`. */
export function DataTable({ columns, label, children }: { columns: Column[]; label?: string; children: ReactNode }) {
  return (
    <div className="-mx-4 overflow-x-auto sm:-mx-5">
      <table className="w-full text-left text-sm" aria-label={label}>
        <thead className="bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
          <tr>
            {columns.map((c, i) => (
              <th
                key={c.key}
                scope="col"
                className={cx(
                  i === 0 ? "px-4 py-2 sm:px-5" : "px-3 py-2",
                  "font-medium",
                  shownFrom(c.from),
                  c.align === "right" && "text-right",
                )}
              >
                {c.srOnly ? <span className="sr-only">{c.label}</span> : c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">{children}</tbody>
      </table>
    </div>
  );
}

/** The footer of a cursor-paginated list: "Load more" while the server has another page. */
export function LoadMore({
  query,
}: {
  query: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => unknown };
}) {
  const { t } = useTranslation();
  if (!query.hasNextPage) return null;
  return (
    <div className="flex justify-center border-t border-slate-100 pt-3">
      <Button
        variant="secondary"
        size="sm"
        onClick={() => void query.fetchNextPage()}
        disabled={query.isFetchingNextPage}
      >
        {query.isFetchingNextPage ? t("common.loading") : t("common.loadMore")}
      </Button>
    </div>
  );
}

/** The current tab, kept in the address (`?tab=`) so a reload or a shared link opens it again. */
export function useTabParam(fallback: string): [string, (tab: string) => void] {
  const [params, setParams] = useSearchParams();
  return [params.get("tab") ?? fallback, (tab) => setParams({ tab }, { replace: true })];
}

const TAB_STYLES = {
  underline: {
    list: "mb-4 flex gap-1 overflow-x-auto border-b border-slate-200",
    trigger:
      "-mb-px whitespace-nowrap border-b-2 border-transparent px-3 py-2 text-sm font-medium text-slate-600 hover:text-slate-900 data-[state=active]:border-emerald-600 data-[state=active]:text-emerald-800",
  },
  segmented: {
    list: "mb-4 grid grid-cols-2 rounded-lg bg-slate-100 p-1 text-sm",
    trigger:
      "rounded-md px-2 py-1.5 font-medium text-slate-600 data-[state=active]:bg-white data-[state=active]:text-slate-900 data-[state=active]:shadow-sm",
  },
};

/** The row of tab triggers inside a Radix `Tabs.Root`. */
export function TabList({
  label,
  tabs,
  variant = "underline",
}: {
  label: string;
  tabs: { value: string; label: ReactNode }[];
  variant?: keyof typeof TAB_STYLES;
}) {
  const style = TAB_STYLES[variant];
  return (
    <Tabs.List className={style.list} aria-label={label}>
      {tabs.map((tab) => (
        <Tabs.Trigger key={tab.value} value={tab.value} className={style.trigger}>
          {tab.label}
        </Tabs.Trigger>
      ))}
    </Tabs.List>
  );
}
