// The floor's sandbox is set up as bbm's is (no stack frames kept), so the two compare like for like.
export { WORKFLOW_STACK_TRACE_FRAMES } from '../../workflows/sandbox-setup';
