import type { Route } from '../route.ts';
import type { Metrics } from '../../infra/metrics/metrics.ts';

export function metricsRoute(metrics: Metrics): Route {
  return {
    doc: {
      method: 'GET', url: '/metrics', tag: 'Operations', auth: false, summary: 'Prometheus metrics',
      responses: { 200: { description: 'Prometheus text format', contentType: 'text/plain' } },
    },
    async handler(_req, reply) {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  };
}
