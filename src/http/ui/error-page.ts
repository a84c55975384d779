import { html, type Html } from './html.js';
import { layout, type LayoutOptions } from './layout.js';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  413: 'Too large',
  422: 'Cannot be done',
  500: 'Something went wrong',
  503: 'Temporal is not answering',
};

/** An error as a page: the status, the API's message for it (never a stack), and a way back. */
export function errorPage(opts: { status: number; message: string; session?: LayoutOptions['session'] }): Html {
  const title = TITLES[opts.status] ?? `Error ${opts.status}`;
  return layout({
    title,
    ...(opts.session ? { session: opts.session } : {}),
    body: html`<h1>${title} <span class="muted">(${opts.status})</span></h1>
      <p class="error" role="alert" data-testid="error-message">${opts.message}</p>
      <p><a href="/ui/deliveries">Deliveries</a> · <a href="/ui/webhooks">Webhooks</a></p>`,
  });
}
