/**
 * Escaping for the self-contained HTML pages modelpress writes (the eval
 * report in src/report/html.ts, the sensitivity page in
 * src/compress/sensitivity-html.ts). It sits in core because compress is
 * below report in the layer order and both need it.
 */

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Makes script text safe inside <script> (no early </script>, no <!-- parsing quirks). */
export function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}
