import { ObjectQL } from '@objectstack/objectql';
import { SqlDriver } from '@objectstack/driver-sql';
import { InMemoryDriver } from '@objectstack/driver-memory';
const which = process.argv[2];
const ql = new ObjectQL();
ql.registerDriver(which === 'mem' ? new InMemoryDriver() : new SqlDriver({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true }), true);
await ql.init();
const events = [];
ql.setRealtimeService({ publish: async (e) => { events.push(e); }, subscribe: async () => 'x', unsubscribe: async () => {} });
ql.registry.registerObject({
  name: 'probe_item', label: 'Probe',
  fields: {
    name: { type: 'text', label: 'Name', maxLength: 64 },
    n: { type: 'number', label: 'N' },
    at: { type: 'number', label: 'At' },
    created_at: { type: 'number', label: 'C' },
    updated_at: { type: 'number', label: 'U' },
    body: { type: 'textarea', label: 'B' },
  },
  indexes: [{ fields: ['name', 'n'], unique: true }],
}, 'herald.probe');
await ql.syncSchemas();
const log = (k, v) => console.log(k, JSON.stringify(v));
const T0 = 1767225600000;
const tryit = async (k, f) => { try { log(k, await f()); } catch (e) { console.log(k, 'ERR', e.name, e.code, e.field, e.message.slice(0,200)); } };
await tryit('insert', () => ql.insert('probe_item', { id: 'a1', name: 'x', n: 1, at: null, created_at: T0, updated_at: T0, body: '{ "a" : 1 }' }));
await tryit('insert2', () => ql.insert('probe_item', { id: 'a2', name: 'y', n: 2, at: 5, created_at: T0*100, updated_at: T0 }));
await tryit('insertarr-dup', () => ql.insert('probe_item', [{ id: 'a3', name: 'z', n: 3, created_at: 1, updated_at: 1 }, { id: 'a4', name: 'y', n: 2, created_at: 1, updated_at: 1 }]));
await tryit('after arr', async () => (await ql.find('probe_item', {fields: ['id']})).map(r => r.id));
await tryit('find proj', () => ql.find('probe_item', { fields: ['id', 'created_at'], orderBy: [{field: 'at', order: 'asc'}] }));
await tryit('order at desc', async () => (await ql.find('probe_item', { fields: ['id'], orderBy: [{field: 'at', order: 'desc'}] })).map(r=>r.id));
await tryit('in empty', () => ql.find('probe_item', { where: { n: { $in: [] } }, fields: ['id'] }));
await tryit('nin empty', () => ql.find('probe_item', { where: { n: { $nin: [] } }, fields: ['id'] }));
await tryit('lt null', () => ql.find('probe_item', { where: { at: { $lt: 100 } }, fields: ['id'] }));
await tryit('update guard single', () => ql.update('probe_item', { n: 9, updated_at: T0+1 }, { where: { id: 'a1', n: 1 } }));
await tryit('update guard single miss', () => ql.update('probe_item', { n: 9 }, { where: { id: 'a1', n: 1 } }));
await tryit('update where nonid single', () => ql.update('probe_item', { at: 3 }, { where: { name: 'x' } }));
await tryit('update multi guard', () => ql.update('probe_item', { n: 10 }, { where: { id: 'a1', n: 9 }, multi: true }));
await tryit('update multi miss', () => ql.update('probe_item', { n: 10 }, { where: { id: 'a1', n: 9 }, multi: true }));
await tryit('update dup', () => ql.update('probe_item', { name: 'y', n: 2 }, { where: { id: 'a1' }, multi: true }));
await tryit('after', () => ql.find('probe_item', {}));
await tryit('delete single', () => ql.delete('probe_item', { where: { id: 'zz' } }));
await tryit('delete multi', () => ql.delete('probe_item', { where: { id: 'zz' }, multi: true }));
await tryit('delete multi hit', () => ql.delete('probe_item', { where: { id: 'a2' }, multi: true }));
await tryit('count', () => ql.count('probe_item', {}));
await tryit('count where', () => ql.count('probe_item', {where: {id: 'a1'}}));
console.log('events', JSON.stringify(events.map(e => ({type: e.type, object: e.object, payload: e.payload}))).slice(0, 3000));
await ql.destroy();
