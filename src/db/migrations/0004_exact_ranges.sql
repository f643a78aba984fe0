-- The id span covered by finished jobs reaches 2^64 over the whole int8 range (one job from
-- -2^63 to 2^63 - 1 alone covers 2^64 ids), which overflows bigint: count it in numeric.
ALTER TABLE bbm.migrations ALTER COLUMN covered_ids TYPE numeric;

-- Table names now follow PostgreSQL's rules (unquoted parts fold to lower case, quoted parts are
-- exact). Names stored before held exact plain identifiers, so a part with upper-case letters
-- meant that exact name: store it quoted, as it is now written, so it keeps naming the same table.
UPDATE bbm.migrations
   SET table_name = quote_ident(split_part(table_name, '.', 1)) || '.' || quote_ident(split_part(table_name, '.', 2))
 WHERE table_name ~ '^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$' AND table_name ~ '[A-Z]';
