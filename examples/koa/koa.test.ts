import { exampleContract } from '../example-contract.ts';
import { gatehouseHarness } from '../gatehouse-harness.ts';
import { start } from './server.ts';

exampleContract('koa', start);
exampleContract('koa', start, gatehouseHarness, 'real Gatehouse');
