// `lightnode commission` (issue 15 item 6): public parts.
export * from './types.js';
export { resolveInputs, podFirst, readAnswers, AnswersSchema, USAGE as COMMISSION_USAGE } from './inputs.js';
export { runCommission, type CommissionResult } from './run.js';
export { commissionCommand, jsonResult, summary, type CommandDeps } from './command.js';
export { scanProfiles, scanSerialDep, scanTcpDep } from './scans.js';
export { planConfig, writeConfig, DEFAULT_ESS_LIMITS, type ConfigPlan } from './config.js';
export { machineSerial, SERIAL_SOURCES } from './identity.js';
export { probeCloud, chain2Pod, type CloudProbe } from './net.js';
export { reportHtml, reportStem, type ReportBody, type ReportMeter } from './report.js';
