/**
 * Public API of @lightnode/cloud: the chain (contracts, anvil, ethers client), the BAL, the SCD, proofs, and the
 * one-machine stack. Talks to the edge only through @lightnode/protocols.
 */
import { useWasmKeccak } from '@lightnode/protocols';

// cloud rates: keccak256 through hash-wasm (the device agent keeps the pure-JS one; see protocols merkle.ts)
await useWasmKeccak();

export {
  compileContracts,
  solcVersion,
  CONTRACT_NAMES,
  type CompiledContract,
  type ContractName,
} from './chain/compile.js';
export { startAnvil, devAccountKey, anvilBinary, freePort, DEV_MNEMONIC, type AnvilHandle } from './chain/anvil.js';
export {
  ChainClient,
  rpcChainId,
  type AddressBook,
  type AnchorReceipt,
  type AnchorRecord,
  type RegisteredKey,
} from './chain/client.js';
export { BalLedger, type DeadLetter, type GapRow, type WindowRow } from './bal/ledger.js';
export { Bal, type Anchorer, type BalOptions, type BalCounters, type IngestOutcome } from './bal/service.js';
export { BalMqtt, type BalMqttOptions } from './bal/mqtt.js';
export { ChainKeyRegistry, MemoryKeyRegistry, expectedSigner, type KeyRegistry } from './bal/registry.js';
export { selectRecover, nativeRecover, loadNative, type RecoverImpl } from './bal/recover.js';
export type { WindowDelivery, GapDelivery, IngestResult, ScdSink } from './delivery.js';
export type { DeliveredMessage, MessageDelivery, MessageIngestResult } from './delivery.js';
export { openSqlite, openPostgres, openStore, type SqlDb } from './scd/sql.js';
export { ScdStore, type BatchRow, type PodRow, type GapView } from './scd/store.js';
export { RegistryStore } from './scd/registry-store.js';
export { ScdService, outboundTopic, type Outbound } from './scd/service.js';
export { checkWindow, checkGaps, type CheckedWindow, type CheckedBatch } from './ingest/check.js';
export { checkMessages, type CheckedMessage } from './ingest/check.js';
export type { AckRow, QosRow, MessageQuery } from './scd/store.js';
export {
  Auth,
  loadCredentials,
  parseCredentials,
  ROLES,
  type Credentials,
  type Platform,
  type Role,
} from './http/auth.js';
export { createScdServer, scdRoutes, INGEST_BODY_LIMIT } from './scd/api.js';
export { HttpScdSink } from './bal/scd-sink.js';
export { createApiServer, listen, type ApiServerOptions } from './http/server.js';
export {
  publicRoute,
  route,
  Router,
  type AnyRoute,
  type PublicRoute,
  type PublicRouteContext,
  type Route,
  type RouteContext,
  type Method,
} from './http/router.js';
export { HTTP_STATUS, httpStatusOf } from './http/errors.js';
export { DEFAULT_BODY_LIMIT, parseBody, readBody } from './http/body.js';
export {
  buildProof,
  verifyProof,
  ProofDocumentSchema,
  type ProofDocument,
  type ProofReport,
  type ProofCheck,
  type ProofSource,
} from './proof.js';
export { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
export { startCloud, generateCredentials, type CloudStack, type CloudStackOptions } from './stack.js';
export {
  buildSetpoint,
  defaultMarketSession,
  publishSetpoint,
  sendSetpoint,
  setpointId,
  type PublishOptions,
  type SetpointOrder,
} from './operator/setpoint.js';
export {
  parseFlexibilityService,
  parsePodRegistryEntry,
  parseSession,
  checkSession,
  sessionSlots,
  type FlexPower,
  type FlexibilityService,
  type PodRegistryEntry,
  type SessionInput,
} from './market/documents.js';
export { clearMarket, type MarketOutcome, type AcceptedService, type RequestResult } from './market/clear.js';
export {
  baseLoads,
  compileNetwork,
  loadNetwork,
  parseNetwork,
  powerFlowReport,
  solvePowerFlow,
  type BusId,
  type Loads,
  type NetworkFile,
  type PowerFlowReport,
  type PowerFlowResult,
  type RadialNetwork,
} from './dsotp/powerflow.js';
export { startMarket, type MarketOptions, type MarketHandle } from './market/start.js';
export {
  EnrollService,
  ENROLLER,
  ENROLL_TTL_MAX_S,
  ENROLL_TTL_MIN_S,
  type DeviceBinder,
  type EnrollResult,
  type EnrollServiceOptions,
  type IssuedToken,
  type KeyRegistrar,
  type TokenRequest,
} from './enroll/service.js';
export { EnrollStore, type EnrollTokenRow } from './enroll/store.js';
export {
  MAX_ENROLL_FAILURES,
  checkEnrollment,
  tokenState,
  type EnrollRequest,
  type TokenState,
} from './enroll/check.js';
export { createEnrollServer, enrollRoutes, EnrollBodies } from './enroll/api.js';
export { startEnroll, type EnrollHandle, type EnrollOptions } from './enroll/start.js';
export { bindDevice, type BindResult, type DeviceBinding } from './scd/enroller.js';
export { MarketService, sessionId } from './market/service.js';
export type { SessionView, SettlementView } from './market/views.js';
export { MarketStore } from './market/store.js';
export { HttpMarketScd, type MarketScd } from './market/scd-client.js';
export { createMarketServer, marketRoutes } from './market/api.js';
export {
  validateOutcome,
  type TechnicalOutcome,
  type ValidatedOutcome,
  type ValidatedService,
} from './market/validated.js';
export { averageLevel, settledDelta, type SettledService } from './market/settlement.js';
export { JsonClient } from './http/client.js';
export { requestPlayerId, OUTCOME_KINDS } from './scd/service.js';
export {
  startDsotp,
  parseMarketDay,
  type DsoPlatform,
  type DsotpOptions,
  type DsoStatus,
  type RequestsResult,
} from './dsotp/service.js';
export { parseDsoModel, loadDsoModel, slotLoads, type DsoModel } from './dsotp/model.js';
export { findViolations, type Violation } from './dsotp/violations.js';
export { slotRequests, requestDocument, type ElementRequest } from './dsotp/requests.js';
export { validateOutcome as validateTechnically, type ValidationResult } from './dsotp/validate.js';
export { planDispatch, type DispatchPlan } from './dsotp/dispatch.js';
