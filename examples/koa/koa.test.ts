import { exampleContract } from '../example-contract.ts';
import { start } from './server.ts';

exampleContract('koa', start);
