import { exampleContract } from '../example-contract.ts';
import { gatehouseHarness } from '../gatehouse-harness.ts';
import { pythonExample } from './python-example.ts';

const start = pythonExample('flask_app.py');
exampleContract('python-flask', start);
exampleContract('python-flask', start, gatehouseHarness, 'real Gatehouse');
