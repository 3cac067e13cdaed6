/**
 * Route failures (issue 18, High 2). A page's code loads with its route (React.lazy); when that
 * fails (the server is down, the connection dropped, or a deploy replaced the chunk this tab knows),
 * the page's place shows a message with Retry instead of a white screen, the shell stays usable,
 * and navigating (Back included) clears it. After a deploy, a chunk-load error reloads the tab once
 * so it runs the new version. Pages added later get all this by going through `lazyPage` and `Loading`.
 */
import { Component, type ComponentType, type ErrorInfo, lazy, type ReactNode, Suspense } from "react";
import { useTranslation } from "react-i18next";
import { useLocation, useNavigate } from "react-router";
import { Button, Spinner } from "./ui.js";

/** Errors the browser (or Vite's preload helper) raises when a module cannot be fetched. */
export function isChunkLoadError(err: unknown): boolean {
  const msg = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  return /dynamically imported module|Importing a module script failed|Unable to preload|Failed to fetch|ChunkLoadError|Load failed/i.test(
    msg,
  );
}

const RELOADED_KEY = "chorus.reloadedFor";

/**
 * After a chunk failed to load: when the server now serves another build (its index.html names
 * another entry script), reload once into it. Not when the server is unreachable (a reload would
 * show the browser's own error page) nor twice for the same build (no reload loop).
 */
export async function reloadIfNewVersion(): Promise<boolean> {
  const current = document.querySelector<HTMLScriptElement>('script[type="module"][src]')?.getAttribute("src");
  if (!current) return false;
  let html: string;
  try {
    const res = await fetch("/", { cache: "no-store", headers: { accept: "text/html" } });
    if (!res.ok) return false;
    html = await res.text();
  } catch {
    return false;
  }
  const served = /<script[^>]*type="module"[^>]*src="([^"]+)"/.exec(html)?.[1];
  if (!served || served === current) return false;
  try {
    if (sessionStorage.getItem(RELOADED_KEY) === served) return false;
    sessionStorage.setItem(RELOADED_KEY, served);
  } catch {
    return false;
  }
  window.location.reload();
  return true;
}

export type LazyPage = ComponentType & { preload: () => Promise<void> };

/** Pages whose last load failed: a retry (or a navigation) gives them a fresh React.lazy. */
const failedPages = new Set<() => void>();
function retryFailedPages(): void {
  for (const reset of failedPages) reset();
  failedPages.clear();
}

/**
 * A page loaded with its route. Unlike a bare React.lazy, a failed load is not remembered for good:
 * Retry (or navigating) fetches it again. `preload()` starts the download early (idle time after
 * sign-in) so the data request does not wait for the code.
 */
export function lazyPage<K extends string>(load: () => Promise<Record<K, ComponentType>>, name: K): LazyPage {
  let pending: Promise<{ default: ComponentType }> | null = null;
  const get = () =>
    (pending ??= load().then(
      (m) => ({ default: m[name] }),
      (err) => {
        pending = null;
        // React.lazy keeps a rejection; swapping it only on retry (not here) avoids a retry loop.
        failedPages.add(() => {
          Lazy = lazy(get);
        });
        throw err;
      },
    ));
  let Lazy = lazy(get);
  // biome-ignore lint/correctness/noComponentHookFactories: made once per page at module level, like React.lazy
  const Page = () => <Lazy />;
  return Object.assign(Page, {
    preload: () =>
      get().then(
        () => undefined,
        () => undefined,
      ),
  });
}

interface BoundaryProps {
  resetKey: string;
  children: ReactNode;
  fallback: (error: unknown, retry: () => void) => ReactNode;
}

class ErrorBoundary extends Component<BoundaryProps, { error: unknown; failedKey: string | null }> {
  override state = { error: null as unknown, failedKey: null as string | null };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  static getDerivedStateFromProps(props: BoundaryProps, state: { error: unknown; failedKey: string | null }) {
    // Navigating away (a link, Back) clears the failure: the next page renders afresh.
    if (state.error !== null && state.failedKey !== null && state.failedKey !== props.resetKey) {
      retryFailedPages();
      return { error: null, failedKey: null };
    }
    return null;
  }

  override componentDidCatch(error: unknown, _info: ErrorInfo) {
    this.setState({ failedKey: this.props.resetKey });
    if (isChunkLoadError(error)) void reloadIfNewVersion();
  }

  override render() {
    if (this.state.error !== null)
      return this.props.fallback(this.state.error, () => {
        retryFailedPages();
        this.setState({ error: null, failedKey: null });
      });
    return this.props.children;
  }
}

function PageErrorMessage({ error, retry }: { error: unknown; retry: () => void }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const chunk = isChunkLoadError(error);
  return (
    <div role="alert" className="mx-auto max-w-lg py-12 text-center" data-testid="page-error">
      <h1 className="text-xl font-semibold text-slate-900">
        {chunk ? t("pageError.chunkTitle") : t("pageError.title")}
      </h1>
      <p className="mt-2 text-sm text-slate-600">{chunk ? t("pageError.chunkBody") : t("pageError.body")}</p>
      <div className="mt-6 flex flex-wrap justify-center gap-2">
        <Button onClick={retry}>{t("pageError.retry")}</Button>
        <Button variant="secondary" onClick={() => navigate(-1)}>
          {t("notFound.back")}
        </Button>
      </div>
    </div>
  );
}

/** Where a page renders: its failure (with Retry) or its loading spinner in place, the shell around it stays. */
export function RouteBoundary({ children }: { children: ReactNode }) {
  const location = useLocation();
  return (
    <ErrorBoundary
      resetKey={location.key + location.pathname}
      fallback={(error, retry) => <PageErrorMessage error={error} retry={retry} />}
    >
      <Suspense fallback={<Spinner />}>{children}</Suspense>
    </ErrorBoundary>
  );
}
