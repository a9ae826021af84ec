import diagnosticsChannel from 'node:diagnostics_channel';
import { context, propagation, type Span, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { CallContext, ChildCallContext } from 'run-in-process';

/**
 * OpenTelemetry, wired to run-in-process's diagnostics channels. In the parent, each offloaded call
 * gets a span under the active one, and its context goes into the call's carrier; in a child, the
 * method's span is started under the context taken out of that carrier. Each process prints the
 * spans it ends, one line each.
 */

const printer: SpanExporter = {
  export(spans: ReadableSpan[], done) {
    for (const span of spans) {
      const { traceId, spanId } = span.spanContext();
      const parent = span.parentSpanContext?.spanId ?? '-';
      console.log(`span "${span.name}" trace ${traceId} id ${spanId} parent ${parent} pid ${process.pid}`);
    }
    done({ code: 0 });
  },
  async shutdown() {},
};

function setUp(): ReturnType<typeof trace.getTracer> {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(printer)] }));
  return trace.getTracer('run-in-process-example');
}

/** In the parent: a span per call, linked to the caller's, its context sent along. */
export function traceCalls(): ReturnType<typeof trace.getTracer> {
  const tracer = setUp();
  const spans = new WeakMap<object, Span>();
  const end = (message: unknown) => spans.get(message as object)?.end();
  diagnosticsChannel.tracingChannel('run-in-process:call').subscribe({
    start(message) {
      const call = message as CallContext;
      const span = tracer.startSpan(`call ${call.target}`);
      spans.set(call, span);
      propagation.inject(trace.setSpan(context.active(), span), call.carrier);
    },
    end() {},
    asyncStart() {},
    asyncEnd: end,
    error(message) {
      spans.get(message as object)?.recordException((message as { error: Error }).error);
    },
  });
  return tracer;
}

/** In a child: the method's span, under the caller's. */
export function traceMethods(): void {
  const tracer = setUp();
  const spans = new WeakMap<object, Span>();
  diagnosticsChannel.tracingChannel('run-in-process:child:call').subscribe({
    start(message) {
      const call = message as ChildCallContext;
      const parent = propagation.extract(context.active(), call.carrier);
      spans.set(call, tracer.startSpan(`run ${call.target}`, {}, parent));
    },
    end() {},
    asyncStart() {},
    asyncEnd: (message) => spans.get(message as object)?.end(),
    error: (message) => spans.get(message as object)?.end(),
  });
}
