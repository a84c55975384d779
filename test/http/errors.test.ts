import { ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { ConflictError, DeliveryNotFoundError, ForbiddenError, ValidationError } from '../../src/errors.js';
import { errorRenderer, HttpError, toHttpError } from '../../src/http/errors.js';

// Pure logic: which error becomes which status, and the one rendering of all of them.
describe('toHttpError', () => {
  it('maps the client errors by code: validation 400 (with the field), forbidden 403, not_found 404, conflict 409', () => {
    expect(toHttpError(new ValidationError('url', 'is not a valid absolute URL'))).toMatchObject({ status: 400, code: 'validation', field: 'url', message: 'url: is not a valid absolute URL' });
    expect(toHttpError(new ForbiddenError('tenantId: no', 'tenantId'))).toMatchObject({ status: 403, code: 'forbidden', field: 'tenantId' });
    expect(toHttpError(new DeliveryNotFoundError('dlv_1'))).toMatchObject({ status: 404, code: 'not_found' });
    expect(toHttpError(new ConflictError('busy'))).toMatchObject({ status: 409, code: 'conflict' });
  });

  it("maps Hono's exceptions, Temporal's not-found and an unreachable Temporal; anything else is unknown", () => {
    expect(toHttpError(new HTTPException(415))).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect(toHttpError(new HTTPException(400, { message: 'Malformed JSON in request body' }))).toMatchObject({ status: 400, field: 'body' });
    expect(toHttpError(new WorkflowNotFoundError('gone', 'wf', undefined))).toMatchObject({ status: 404 });
    const grpc = (code: number) => Object.assign(new Error('grpc'), { code, details: 'x', metadata: {} });
    expect(toHttpError(new ServiceError('Failed to start Workflow', { cause: grpc(14) }))).toMatchObject({ status: 503, code: 'unavailable', headers: { 'Retry-After': '5' } });
    expect(toHttpError(grpc(4))).toMatchObject({ status: 503 });
    expect(toHttpError(new ServiceError('bad', { cause: grpc(3) }))).toBeUndefined();
    expect(toHttpError(new Error('boom'))).toBeUndefined();
  });
});

describe('errorRenderer', () => {
  it('renders {"error":{code,message,field}} with the status and headers; a 500 is logged, never echoed', async () => {
    const logged: unknown[] = [];
    const app = new Hono();
    app.onError(errorRenderer({ error: (obj) => logged.push(obj) }));
    app.get('/http', () => {
      throw new HttpError(401, 'unauthorized', 'no token', undefined, { 'WWW-Authenticate': 'Bearer' });
    });
    app.get('/field', () => {
      throw new ValidationError('eventTypes.0', 'is bad');
    });
    app.get('/bug', () => {
      throw new Error('secret internal detail');
    });
    const http = await app.request('/http');
    expect(http.status).toBe(401);
    expect(http.headers.get('www-authenticate')).toBe('Bearer');
    expect(await http.json()).toEqual({ error: { code: 'unauthorized', message: 'no token' } });
    expect(await (await app.request('/field')).json()).toEqual({ error: { code: 'validation', message: 'eventTypes.0: is bad', field: 'eventTypes.0' } });
    const bug = await app.request('/bug');
    expect(bug.status).toBe(500);
    expect(await bug.text()).not.toContain('secret internal detail');
    expect(logged).toHaveLength(1);
  });
});
