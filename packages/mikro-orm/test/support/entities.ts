import { EntitySchema } from '@mikro-orm/core';

/** Written with explicit `outbox.add` events. `number` is unique, for the failing-flush cases. */
export interface Order {
  id: number;
  number: string;
  total: number;
}

export const OrderSchema = new EntitySchema<Order>({
  name: 'Order',
  tableName: 'orders',
  properties: {
    id: { type: 'integer', primary: true, autoincrement: true },
    number: { type: 'string', length: 64, unique: true },
    total: { type: 'integer' },
  },
});

/** Written with change-driven events (rules). `code` is unique, for the failing-flush cases. */
export interface Invoice {
  id: number;
  code: string;
  amount: number;
}

export const InvoiceSchema = new EntitySchema<Invoice>({
  name: 'Invoice',
  tableName: 'invoices',
  properties: {
    id: { type: 'integer', primary: true, autoincrement: true },
    code: { type: 'string', length: 64, unique: true },
    amount: { type: 'integer' },
  },
});

/** Changes to it must produce no events: no rule names it. */
export interface Note {
  id: number;
  text: string;
}

export const NoteSchema = new EntitySchema<Note>({
  name: 'Note',
  tableName: 'notes',
  properties: {
    id: { type: 'integer', primary: true, autoincrement: true },
    text: { type: 'string', length: 255 },
  },
});

export const ENTITIES = [OrderSchema, InvoiceSchema, NoteSchema];
