import { describe, expect, it } from 'vitest';
import { markdownText } from '../../src/delivery/markdown.js';

describe('markdownText', () => {
  it('escapes what could start inline markup, so ids keep their underscores in the Web UI', () => {
    expect(markdownText('webhook wh_wHmLs_D3W360Xwk_')).toBe('webhook wh\\_wHmLs\\_D3W360Xwk\\_');
    expect(markdownText('a*b* `c` [d](e) <f> ~g~ |h| \\')).toBe('a\\*b\\* \\`c\\` \\[d\\](e) \\<f\\> \\~g\\~ \\|h\\| \\\\');
  });

  it('leaves plain text alone', () => {
    expect(markdownText('delivery dlv_1 of event evt-2 (tenant default)')).toBe('delivery dlv\\_1 of event evt-2 (tenant default)');
    expect(markdownText('POST 127.0.0.1:8080 · order.created')).toBe('POST 127.0.0.1:8080 · order.created');
  });
});
