/** `npx tsx loadgen/cluster/write-compose-config.ts`: regenerate deploy/haproxy.cfg (docker-compose's balancer) from haproxy-config.ts. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../procs/child.ts';
import { COMPOSE_HAPROXY_PATH, composeHaproxyConfig } from './haproxy-config.ts';

writeFileSync(join(REPO_ROOT, COMPOSE_HAPROXY_PATH), composeHaproxyConfig());
process.stdout.write(`wrote ${COMPOSE_HAPROXY_PATH}\n`);
