/** Where the Temporal Web UI is, and in which namespace Herald's workflows run. */
export interface TemporalWebUi {
  /** e.g. `http://127.0.0.1:8233` (HERALD_TEMPORAL_UI_URL, or the embedded dev server's UI). */
  url: string;
  namespace: string;
}

/** The Web UI page of one workflow run: `<ui>/namespaces/<ns>/workflows/<workflowId>/<runId>/history`. */
export function temporalRunHref(ui: TemporalWebUi, workflowId: string, runId: string): string {
  const base = ui.url.replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(ui.namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
}
