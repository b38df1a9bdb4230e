/**
 * Named schemas: a zod schema given a name here appears once in the OpenAPI
 * document's `components.schemas` and is referenced (`$ref`) wherever a route
 * uses it (./openapi.ts), e.g. `Error`, `Accepted`, `Member`, `Job`.
 */
import type { z } from 'zod';

const names = new Map<z.ZodType, string>();

/** Names `schema` for the document; returns it, so a declaration reads `const x = component('X', z.object(…))`. */
export function component<T extends z.ZodType>(name: string, schema: T): T {
  if ([...names.values()].includes(name) && names.get(schema) !== name) throw new Error(`two schemas named ${name}`);
  names.set(schema, name);
  return schema;
}

/** The name `schema` was given, if any. */
export function componentName(schema: z.ZodType): string | undefined {
  return names.get(schema);
}
