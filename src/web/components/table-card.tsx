import type { TFunction } from "i18next";
import type { ReactNode } from "react";
import {
  type Column,
  DataTable,
  type DataTableProps,
  LoadMore,
  type PagesLike,
  type QueryLike,
  QueryView,
} from "./data.js";
import { EditDeleteMenu } from "./menu.js";
import { Card } from "./ui.js";

/**
 * A list page's records in their card: the query's spinner or error, then the table, or `empty`
 * when there is nothing to show. `more` is the paginated query behind the rows, for "Load more".
 */
export function TableCard<T extends { id: string }>({
  query,
  empty,
  more,
  table,
}: {
  query: QueryLike<readonly T[]>;
  empty: string;
  more?: PagesLike;
  table: Omit<DataTableProps<T>, "rows" | "rowKey">;
}) {
  return (
    <Card className="overflow-hidden">
      <QueryView query={query}>
        {(rows) =>
          rows.length ? (
            <DataTable {...table} rows={rows} rowKey={(row) => row.id} />
          ) : (
            <p className="py-6 text-center text-sm text-slate-500">{empty}</p>
          )
        }
      </QueryView>
      {more ? <LoadMore query={more} /> : null}
    </Card>
  );
}

/** Rows that say what they are and which record they show, for the browser tests and scripts to find. */
export function namedRow(testId: string) {
  return (row: { name: string }) => ({ "data-testid": testId, "data-name": row.name });
}

/** The last column, a row's own buttons or menu; given only to those who may act on the rows. */
export function actionsColumn<T>(t: TFunction, cell: (row: T) => ReactNode): Column<T> {
  return { key: "actions", label: t("common.actions"), actions: true, cell };
}

/** An actions column holding each row's "…" menu with Edit and Delete; `label` names that menu. */
export function editDeleteColumn<T>(
  t: TFunction,
  { label, onEdit, onDelete }: { label: (row: T) => string; onEdit: (row: T) => void; onDelete: (row: T) => void },
): Column<T> {
  return actionsColumn(t, (row) => (
    <EditDeleteMenu label={label(row)} onEdit={() => onEdit(row)} onDelete={() => onDelete(row)} />
  ));
}
