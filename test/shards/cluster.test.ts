/** The cluster suite (cluster-suite.ts) on one SQLite file: every case. */
import { clusterSuite } from './cluster-suite.ts';

clusterSuite('sqlite');
