import type { Case } from '../case.js';
import { pipelineCases } from './pipeline.js';
import { signedCases } from './signed.js';
import { topicCases } from './topics.js';
import { transportCases } from './transport.js';

/** Every case the suite runs against every adapter, in the order of the printed table. */
export const cases: Case[] = [...topicCases, ...transportCases, ...signedCases, ...pipelineCases];
