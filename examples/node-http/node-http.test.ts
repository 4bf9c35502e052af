import { exampleContract } from '../example-contract.ts';
import { gatehouseHarness } from '../gatehouse-harness.ts';
import { start } from './server.ts';

exampleContract('node-http', start);
exampleContract('node-http', start, gatehouseHarness, 'real Gatehouse');
