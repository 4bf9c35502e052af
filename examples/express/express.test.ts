import { exampleContract } from '../example-contract.ts';
import { gatehouseHarness } from '../gatehouse-harness.ts';
import { start } from './server.ts';

exampleContract('express', start);
exampleContract('express', start, gatehouseHarness, 'real Gatehouse');
