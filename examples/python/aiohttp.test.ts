import { exampleContract } from '../example-contract.ts';
import { gatehouseHarness } from '../gatehouse-harness.ts';
import { pythonExample } from './python-example.ts';

const start = pythonExample('aiohttp_app.py');
exampleContract('python-aiohttp', start);
exampleContract('python-aiohttp', start, gatehouseHarness, 'real Gatehouse');
