// Public API of @lightnode/edge.
export * from './keys/index.js';
export * from './modbus/index.js';
export * from './store/index.js';
export * from './link/index.js';
export * from './agent/index.js';
export * from './chain2/index.js';
export * from './sources/index.js';
export * from './ess/index.js';
export * from './setpoints/audit.js';
export {
  SetpointController,
  type AuditSink,
  type ControllerOptions,
  type ControllerStatus,
} from './setpoints/runtime.js';
export { checkSetpoint, setpointIdOf, type CheckOutcome, type RefusalCode } from './setpoints/checks.js';
export { commandBounds, planCommand, type Plan, type PlanInput } from './setpoints/plan.js';
export * from './jobs/index.js';
export * from './remote-config/index.js';
