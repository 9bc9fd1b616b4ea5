// graphql-js as an oracle: reads {"schema": SDL, "cases": [{"query", "variables"?, "operationName"?}]}
// on standard input and writes, for each case, what graphql-js 16 says:
// {"syntax": {"message", "locations"}} or {"validation": [{"message", "locations"}], "coercion"?: [...]}.
import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate, getOperationAST } from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';

const input = JSON.parse(readFileSync(0, 'utf8'));
const schema = buildSchema(input.schema);
const plain = (errors) => errors.map((e) => ({ message: e.message, locations: e.locations ?? [] }));

const results = input.cases.map(({ query, variables, operationName }) => {
  let document;
  try {
    document = parse(query);
  } catch (e) {
    return { syntax: { message: e.message, locations: e.locations ?? [] } };
  }
  const result = { validation: plain(validate(schema, document)) };
  if (result.validation.length === 0 && variables !== undefined) {
    const operation = getOperationAST(document, operationName);
    if (operation) {
      const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 50 });
      result.coercion = coerced.errors ? plain(coerced.errors) : [];
    }
  }
  return result;
});
process.stdout.write(JSON.stringify(results));
