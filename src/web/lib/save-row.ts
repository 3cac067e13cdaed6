import { type QueryKey, type UseMutationResult, useMutation, useQueryClient } from "@tanstack/react-query";
import { toast } from "../components/ui.js";
import { fieldErrorsOf } from "../pages/contacts/shared.js";
import { api } from "./api.js";

/**
 * The save of a create-or-edit dialog: PATCH `<collection>/<id>` when editing `existing`, POST
 * `<collection>` otherwise, with `body()`. A success says `saved(row, created)`, reads again the
 * queries under `invalidate` and calls `onSaved`; a failure puts the server's field errors (and
 * the 409s named in `conflicts`, on their field) through `setErrors`.
 */
export function useSaveRow<T>({
  collection,
  existing,
  body,
  saved,
  invalidate,
  onSaved,
  setErrors,
  conflicts,
}: {
  collection: string;
  existing: { id: string } | null | undefined;
  body: () => unknown;
  saved: (row: T, created: boolean) => string;
  invalidate: QueryKey[];
  onSaved: (row: T) => void;
  setErrors: (errors: Record<string, string>) => void;
  conflicts?: Record<string, string>;
}): UseMutationResult<T, Error, void> {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () =>
      existing
        ? api<T>(`${collection}/${existing.id}`, { method: "PATCH", body: body() })
        : api<T>(collection, { method: "POST", body: body() }),
    onSuccess: (row) => {
      toast(saved(row, !existing));
      for (const queryKey of invalidate) void qc.invalidateQueries({ queryKey });
      onSaved(row);
    },
    onError: (e) => setErrors(fieldErrorsOf(e, conflicts)),
  });
}
