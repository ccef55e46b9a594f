export {
  type Failure,
  type FuzzOptions,
  type FuzzReport,
  kindSeed,
  runFuzz,
  summaryTable,
} from './harness.js';
export { KINDS, type Kind, LIMITS, WEBHOOK_PATH } from './kinds.js';
export { globalPollution, Observer, observedReceiver, Registry } from './observer.js';
export { answerCode, describeResult, judge, type Violation } from './oracle.js';
export { SECRET, sign, THROW_KEY } from './payloads.js';
export {
  describeProbe,
  type Expectation,
  type FuzzRequest,
  type Probe,
  requestBytes,
  toWire,
} from './spec.js';
export { exchange, type WirePlan, type WireResponse, type WireResult } from './wire.js';
