/**
 * Defaults and AWS limits the constructs rely on, in one place so that the docs, the checks and
 * the tests agree.
 */

import { DEFAULT_LISTENER_PORTS, SHUTDOWN_EXIT_MARGIN_MS } from '../tenants';

/** The gateway's listener ports (lib/gateway defaults; see the Dockerfile's EXPOSE). */
export const DEFAULT_PRIVATE_LINK_PORT = DEFAULT_LISTENER_PORTS.privateLink;
export const DEFAULT_PUBLIC_PORT = DEFAULT_LISTENER_PORTS.public;
export const DEFAULT_HEALTH_PORT = DEFAULT_LISTENER_PORTS.health;

/**
 * ECS rejects a task definition larger than 65,536 bytes ("Actual length: '66420'. Max allowed
 * length is '65536' bytes." — RegisterTaskDefinition; the limit was raised from 32 KiB, see
 * awsdocs/amazon-ecs-developer-guide PR #149 and the "Task definition size" quota in the ECS
 * service quotas page). The inline config shares it with the rest of the task definition (image,
 * roles, log and port settings: about 2 KiB), so it gets the limit minus 8 KiB of headroom.
 */
export const ECS_TASK_DEFINITION_MAX_BYTES = 65_536;
export const MAX_INLINE_CONFIG_BYTES = ECS_TASK_DEFINITION_MAX_BYTES - 8 * 1024;

/** Fargate stops a container with SIGKILL at most 120 s after SIGTERM (container `stopTimeout`). */
export const FARGATE_MAX_STOP_TIMEOUT_SEC = 120;
/** Seconds between the end of the gateway's drain and the stop timeout, for process exit. */
export const STOP_TIMEOUT_MARGIN_SEC = SHUTDOWN_EXIT_MARGIN_MS / 1000;

/** Task memory (MiB) Fargate accepts for each task CPU size (CPU units, 1024 = 1 vCPU). */
export function fargateMemoryOptionsMiB(cpu: number): readonly number[] {
  const range = (min: number, max: number, step: number) =>
    Array.from({ length: (max - min) / step + 1 }, (_, i) => min + i * step);
  switch (cpu) {
    case 256:
      return [512, 1024, 2048];
    case 512:
      return range(1024, 4096, 1024);
    case 1024:
      return range(2048, 8192, 1024);
    case 2048:
      return range(4096, 16384, 1024);
    case 4096:
      return range(8192, 30720, 1024);
    case 8192:
      return range(16384, 61440, 4096);
    case 16384:
      return range(32768, 122880, 8192);
    default:
      return [];
  }
}

export const FARGATE_CPU_OPTIONS: readonly number[] = [256, 512, 1024, 2048, 4096, 8192, 16384];
