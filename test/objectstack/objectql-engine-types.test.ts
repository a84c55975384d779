/** Herald's ObjectQL adapter is itself an ObjectStack `IDataEngine`, like Herald's other engines. */
import type { IDataEngine } from '@objectstack/spec/contracts';
import { describe, expectTypeOf, it } from 'vitest';
import type { ObjectQLEngine } from '../../src/objectstack/objectql-engine.js';
import type { DataEngine } from '../../src/store/data-engine.js';

describe('ObjectQLEngine types', () => {
  it('is a DataEngine and an IDataEngine', () => {
    expectTypeOf<ObjectQLEngine>().toExtend<DataEngine>();
    expectTypeOf<ObjectQLEngine>().toExtend<IDataEngine>();
  });
});
