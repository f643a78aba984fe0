// Re-exports from bbm plus a small helper, to show the typed error API from TypeScript.
import { BbmError, ErrorCode } from 'bbm';
export { defineWorkFunction, type WorkFunction } from 'bbm';

export function invalidArgs(message: string): BbmError {
  return new BbmError(ErrorCode.INVALID_INPUT, message);
}
