import { BbmError, ErrorCode } from '../errors';
import { columnType, hasLeadingIndex, hasNullIndex, isUniqueColumn, rowKey, tableExists } from '../store/catalog';
import type { Queryable } from '../store/types';
import { BatchingStrategy, isRangeStrategy } from './constants';
import { formatIdent, formatTable, quoteIdent, quoteTable, type QualifiedName } from './identifiers';
import { INTEGER_TYPE_RANGES } from './int8';

/**
 * What a batching strategy needs from its table, checked when a migration is defined so a bad
 * definition is refused with its own code before anything is written.
 *  - serial: an integer column that is unique on its own (a primary key, a unique constraint, or
 *    a valid non-partial unique index with that single column); otherwise a job could hold any
 *    number of rows sharing one value (PAGINATION_COLUMN_NOT_UNIQUE);
 *  - distinct: an integer column leading a btree index, walked by a loose index scan (MISSING_INDEX);
 *  - null: a partial index WHERE column IS NULL (MISSING_NULL_INDEX), and a primary key or a
 *    unique key over NOT NULL columns that names each job's rows (MISSING_UNIQUE_KEY).
 */

/** INVALID_TABLE when the table does not exist (or is a view, a sequence...). */
export async function checkTable(db: Queryable, table: QualifiedName): Promise<void> {
  if (!(await tableExists(db, table)))
    throw new BbmError(ErrorCode.INVALID_TABLE, `Table ${formatTable(table)} does not exist (or is not a table).`, {
      table: formatTable(table),
    });
}

/** The column's type; INVALID_COLUMN when it does not exist. */
export async function checkColumn(db: Queryable, table: QualifiedName, column: string): Promise<string> {
  const type = await columnType(db, table, column);
  if (!type)
    throw new BbmError(ErrorCode.INVALID_COLUMN, `Column ${formatIdent(column)} does not exist on ${formatTable(table)}.`, {
      table: formatTable(table),
      column,
    });
  return type;
}

/** The strategy's needs (see the module comment) for a column of type `type`; range bounds must fit that type. */
export async function checkStrategy(
  db: Queryable,
  table: QualifiedName,
  column: string,
  type: string,
  strategy: string,
  bounds: (bigint | undefined)[],
): Promise<void> {
  const target = `${formatTable(table)}.${formatIdent(column)}`;
  if (isRangeStrategy(strategy)) {
    const limits = INTEGER_TYPE_RANGES[type];
    if (!limits)
      throw new BbmError(ErrorCode.INVALID_COLUMN, `The ${strategy} strategy paginates over an integer column; ${target} is ${type}.`, {
        column,
      });
    for (const bound of bounds) {
      if (bound !== undefined && (bound < limits[0] || bound > limits[1])) {
        throw new BbmError(
          ErrorCode.INVALID_RANGE,
          `The range bound ${bound} does not fit ${target}, which is ${type} (${limits[0]}..${limits[1]}).`,
          { column },
        );
      }
    }
  }
  if (strategy === BatchingStrategy.SERIAL && !(await isUniqueColumn(db, table, column))) {
    throw new BbmError(
      ErrorCode.PAGINATION_COLUMN_NOT_UNIQUE,
      `${target} has no unique index of its own, so one serial job could hold any number of rows sharing a value. Paginate over a unique column (usually the primary key), ` +
        `or use --strategy distinct, whose jobs each cover up to batch size distinct values of ${formatIdent(column)} (needs an index on it).`,
      { table: formatTable(table), column },
    );
  }
  if (strategy === BatchingStrategy.DISTINCT && !(await hasLeadingIndex(db, table, column))) {
    throw new BbmError(
      ErrorCode.MISSING_INDEX,
      `The distinct strategy walks the distinct values of ${target} with a loose index scan, which needs a btree index whose first column it is. Create it first:\n` +
        `  CREATE INDEX CONCURRENTLY ON ${quoteTable(table)} (${quoteIdent(column)});`,
      { table: formatTable(table), column },
    );
  }
  if (strategy === BatchingStrategy.NULL_ROWS) await checkNullStrategy(db, table, column);
}

async function checkNullStrategy(db: Queryable, table: QualifiedName, column: string): Promise<void> {
  if (!(await hasNullIndex(db, table, column))) {
    throw new BbmError(
      ErrorCode.MISSING_NULL_INDEX,
      `The NULL strategy needs a partial index on ${formatTable(table)} WHERE ${formatIdent(column)} IS NULL, or every batch scans the table. Create it first:\n` +
        `  CREATE INDEX CONCURRENTLY ON ${quoteTable(table)} (${quoteIdent(column)}) WHERE ${quoteIdent(column)} IS NULL;`,
      { table: formatTable(table), column },
    );
  }
  if (!(await rowKey(db, table))) {
    throw new BbmError(
      ErrorCode.MISSING_UNIQUE_KEY,
      `The NULL strategy names each job's rows by the table's primary key (or a unique index over NOT NULL columns) to check that they left the NULL set; ${formatTable(table)} has none. Add a primary key, or use the serial strategy.`,
      { table: formatTable(table) },
    );
  }
}
