import * as Tabs from "@radix-ui/react-tabs";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { Button, cx, ErrorState, Spinner } from "./ui.js";

export interface QueryLike<T> {
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

type Breakpoint = "sm" | "md" | "lg" | "xl" | "2xl";
/**
 * A column shown in the table only from a width up. On a phone (below `sm`) the table is a list of
 * cards, and every column is in its card again (the cell's `max-sm:flex` wins): nothing is lost.
 */
const HIDDEN_BELOW: Record<Breakpoint, string> = {
  sm: "hidden sm:table-cell",
  md: "hidden md:table-cell",
  lg: "hidden lg:table-cell",
  xl: "hidden xl:table-cell",
  "2xl": "hidden 2xl:table-cell",
};
/** Classes of a cell shown only from a width up (narrow tables get fewer columns). */
export function shownFrom(bp: Breakpoint | undefined): string | undefined {
  return bp ? HIDDEN_BELOW[bp] : undefined;
}

export interface Column<T> {
  key: string;
  /** The header; on a phone, the label in front of the value in each card. */
  label: string;
  cell: (row: T) => ReactNode;
  /** Hidden in the table below this width (still shown in the phone's cards). */
  from?: Breakpoint;
  /** The row's menu or buttons: header only for screen readers; the card's top-right corner. */
  actions?: boolean;
  /** Classes of the cell (text colour, width). */
  className?: string;
}

export interface DataTableProps<T> {
  columns: Column<T>[];
  rows: readonly T[];
  rowKey: (row: T) => string;
  rowProps?: (row: T) => Record<string, unknown> & { className?: string | undefined };
  label?: string;
  dense?: boolean;
}

/**
 * The one way to show rows of records (issue 18): a table from `sm` up, a list of cards on a phone.
 * The first column is the card's heading, the `actions` column sits in its top-right corner, every
 * other column is a labelled line. The table scrolls sideways inside its own box when it must (the
 * box is `relative`, so nothing in it, the screen-reader-only header included, can widen the page);
 * no page scrolls sideways at 390 px. Rows are data: `rowProps` adds test ids, classes and such.
 */
export function DataTable<T>({ columns, rows, rowKey, rowProps, label, dense = false }: DataTableProps<T>) {
  const py = dense ? "py-2" : "py-3";
  return (
    <div className="relative -mx-4 overflow-x-auto sm:-mx-5" data-table>
      <table className="w-full text-left text-sm max-sm:block" aria-label={label}>
        <thead className="bg-slate-50 text-xs uppercase tracking-wide text-slate-600 max-sm:hidden">
          <tr>
            {columns.map((c, i) => (
              <th
                key={c.key}
                scope="col"
                className={cx(
                  i === 0 ? "px-4 py-2 sm:px-5" : "px-3 py-2",
                  "font-medium",
                  shownFrom(c.from),
                  c.actions && "text-right",
                )}
              >
                {c.actions ? <span className="sr-only">{c.label}</span> : c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 max-sm:block">
          {rows.map((row) => {
            const { className, ...props } = rowProps?.(row) ?? {};
            return (
              <tr
                key={rowKey(row)}
                {...props}
                className={cx(
                  "max-sm:grid max-sm:grid-cols-[minmax(0,1fr)_auto] max-sm:gap-x-3 max-sm:gap-y-1.5 max-sm:px-4 max-sm:py-3",
                  className,
                )}
              >
                {columns.map((c, i) => (
                  <td
                    key={c.key}
                    className={cx(
                      i === 0 ? `px-4 ${py} sm:px-5` : `px-3 ${py}`,
                      "max-sm:min-w-0 max-sm:p-0",
                      i === 0
                        ? "max-sm:col-start-1 max-sm:row-start-1"
                        : c.actions
                          ? "text-right max-sm:col-start-2 max-sm:row-start-1 max-sm:self-start"
                          : "max-sm:col-span-2 max-sm:flex max-sm:flex-wrap max-sm:items-center max-sm:gap-x-2 max-sm:gap-y-1",
                      shownFrom(c.from),
                      c.className,
                    )}
                  >
                    {i > 0 && !c.actions ? (
                      <span className="text-xs font-medium text-slate-600 sm:hidden">{c.label}:</span>
                    ) : null}
                    {c.cell(row)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export interface PagesLike {
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => unknown;
}

/** The footer of a cursor-paginated list: "Load more" while the server has another page. */
export function LoadMore({ query }: { query: PagesLike }) {
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

/**
 * A list's filters kept in the address (`?q=…&role=…`): a reload or a shared link shows the same
 * list. Empty values leave the address; other parameters (a tab) are kept. Replaces history entries.
 */
export function useUrlFilters<K extends string>(
  defaults: Record<K, string>,
): [Record<K, string>, (k: K, v: string) => void] {
  const [params, setParams] = useSearchParams();
  const values = Object.fromEntries(
    (Object.keys(defaults) as K[]).map((k) => [k, params.get(k) ?? defaults[k]]),
  ) as Record<K, string>;
  // Built from the address itself, not the hook's `prev`: that is the search of the last render,
  // so a filter changed right after the debounced search wrote `q` (before React re-rendered)
  // dropped `q` again.
  const set = (k: K, v: string) =>
    setParams(
      () => {
        const next = new URLSearchParams(window.location.search);
        if (v === "" || v === defaults[k]) next.delete(k);
        else next.set(k, v);
        return next;
      },
      { replace: true },
    );
  return [values, set];
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
