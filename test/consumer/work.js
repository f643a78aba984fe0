// A user's work function in plain JavaScript, as a project that installed bbm writes it:
// set `note` to the `value` argument on the rows of each job.
'use strict';
const { BbmError, ErrorCode, defineWorkFunction } = require('bbm');

const stampJs = defineWorkFunction({
  name: 'stamp_js',
  description: 'set note to args.value on the rows of the job',
  validateArgs(args) {
    if (typeof args.value !== 'string' || args.value === '') {
      throw new BbmError(ErrorCode.INVALID_INPUT, 'stamp_js needs args.value, a non-empty string.');
    }
    return { value: args.value };
  },
  requiredColumns: () => ['note'],
  async run(ctx) {
    const next = ctx.where.values.length + 1;
    const result = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET note = $${next} WHERE ${ctx.where.sql}`, [
      ...ctx.where.values,
      ctx.args.value,
    ]);
    return result.rowCount ?? 0;
  },
});

module.exports = [stampJs];
