import { exampleContract } from '../example-contract.ts';
import { gatehouseHarness } from '../gatehouse-harness.ts';
import { start } from './server.ts';

exampleContract('fastify', start);
exampleContract('fastify', start, gatehouseHarness, 'real Gatehouse');
