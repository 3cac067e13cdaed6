/**
 * Link tokens travel in URLs (`/invite/<token>`, `/api/v1/invitations/<token>/…`,
 * `/verify-email?token=…`, `/reset-password?token=…`): whoever reads a logged URL could use
 * them. Every URL the logs carry goes through here.
 */
export const REDACTED = "[redacted]";

/** The path segment after `/invite/` or `/invitations/` (an organization's invitation ids too: harmless). */
const SECRET_SEGMENT = /(\/(?:invite|invitations)\/)[^/?#\s"']+/gi;
/** A query parameter whose name ends in token, code, secret, password, signature or key. */
const SECRET_PARAM = /([?&;][^=&?#\s"']*(?:token|code|secret|password|signature|key))=[^&#\s"']*/gi;

/** Text with every secret path segment and query value replaced (URLs, or messages quoting them). */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_SEGMENT, `$1${REDACTED}`).replace(SECRET_PARAM, `$1=${REDACTED}`);
}

/**
 * A request URL fit for the log. Percent-encoded URLs are decoded first, so `/%69nvite/<token>`
 * or `?%74oken=` (which reach the same page) are caught too.
 */
export function redactUrl(url: string): string {
  if (url.includes("%")) return redactSecrets(decodeLoosely(url));
  return MAY_HOLD_SECRET.test(url) ? redactSecrets(url) : url;
}

/** What both patterns need to match (`/invite…/`, `…=`): most URLs skip the two replaces. */
const MAY_HOLD_SECRET = /=|invit/i;

function decodeLoosely(url: string): string {
  try {
    return decodeURIComponent(url);
  } catch {
    // A malformed escape somewhere: decode the well-formed ones.
    return url.replace(/(%[0-9a-f]{2})+/gi, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}
