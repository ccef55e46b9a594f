import { MemoryStore } from '@ittybit-webhooks/core';
import { describeStoreContract } from '@ittybit-webhooks/store-contract';

describeStoreContract('MemoryStore', () => ({ store: new MemoryStore() }));
