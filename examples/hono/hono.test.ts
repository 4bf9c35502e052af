import { exampleContract } from '../example-contract.ts';
import { gatehouseHarness } from '../gatehouse-harness.ts';
import { start } from './server.ts';

exampleContract('hono', start);
exampleContract('hono', start, gatehouseHarness, 'real Gatehouse');
