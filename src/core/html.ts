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

/** The style every page shares: type, headings and tables. */
const BASE_CSS = `body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; }
table { border-collapse: collapse; margin: 12px 0 24px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }`;

export interface HtmlPage {
  /** Page title and heading (escaped here). */
  readonly title: string;
  /** The page's own style rules, after the shared ones. */
  readonly css: string;
  /** Markup after the heading (already escaped by the caller). */
  readonly body: string;
  /** Embedded JSON the page script reads: element id and the value. */
  readonly data: { readonly id: string; readonly value: unknown };
  /** Script texts, inlined in order (libraries first, the page's own last). */
  readonly scripts: readonly string[];
}

/** A self-contained HTML page: no external requests, JSON embedded safely, scripts inlined. */
export function htmlPage(page: HtmlPage): string {
  const json = JSON.stringify(page.data.value).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>
${BASE_CSS}
${page.css}
</style>
</head>
<body>
<h1>${escapeHtml(page.title)}</h1>
${page.body}
<script type="application/json" id="${escapeHtml(page.data.id)}">${json}</script>
${page.scripts.map((s) => `<script>${scriptSafe(s)}</script>`).join('\n')}
</body>
</html>
`;
}
