import { AsyncLocalStorage } from 'node:async_hooks';
import diagnosticsChannel from 'node:diagnostics_channel';
import {
  type Context,
  type ContextManager,
  context,
  DiagConsoleLogger,
  DiagLogLevel,
  diag,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
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
 * method's span is started under the context taken out of that carrier, and is the active span
 * while the method runs, so that spans the method (or a library it uses) starts join the caller's
 * trace. Each process prints the spans it ends, one line each.
 */

const printer: SpanExporter = {
  export(spans: ReadableSpan[], done) {
    for (const span of spans) {
      const { traceId, spanId } = span.spanContext();
      const parent = span.parentSpanContext?.spanId ?? '-';
      const status = span.status.code === SpanStatusCode.ERROR ? ` error "${span.status.message}"` : '';
      console.log(`span "${span.name}" trace ${traceId} id ${spanId} parent ${parent} pid ${process.pid}${status}`);
    }
    done({ code: 0 });
  },
  async shutdown() {},
};

/**
 * The active context kept in an AsyncLocalStorage, as OpenTelemetry's own AsyncLocalStorage
 * context manager keeps it, but with the store in reach: a diagnostics channel can then enter a
 * context for the code it traces (`bindStore`).
 */
class StoreContextManager implements ContextManager {
  readonly store = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.store.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    active: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.store.run(active, () => fn.apply(thisArg, args));
  }
  bind<T>(active: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const manager = this;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(active, () => target.apply(this, args));
    } as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.store.disable();
    return this;
  }
}

function setUp(): { tracer: ReturnType<typeof trace.getTracer>; manager: StoreContextManager } {
  // OpenTelemetry's own complaints (a span ended twice, say) are printed, not swallowed.
  diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.ERROR);
  const manager = new StoreContextManager();
  context.setGlobalContextManager(manager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(printer)] }));
  return { tracer: trace.getTracer('run-in-process-example'), manager };
}

/** The error a traced call failed with, on its span; the span ends once, at asyncEnd. */
function failed(span: Span | undefined, error: unknown): void {
  if (!span) return;
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** In the parent: a span per call, linked to the caller's, its context sent along. */
export function traceCalls(): ReturnType<typeof trace.getTracer> {
  const { tracer } = setUp();
  const spans = new WeakMap<object, Span>();
  diagnosticsChannel.tracingChannel('run-in-process:call').subscribe({
    start(message) {
      const call = message as CallContext;
      const span = tracer.startSpan(`call ${call.target}`);
      spans.set(call, span);
      propagation.inject(trace.setSpan(context.active(), span), call.carrier);
    },
    end() {},
    asyncStart() {},
    // A call's promise settles once: asyncEnd comes after its value, or after `error`.
    asyncEnd: (message) => spans.get(message as object)?.end(),
    error: (message) => failed(spans.get(message as object), (message as { error: unknown }).error),
  });
  return tracer;
}

/** In a child: the method's span, under the caller's, active while the method runs. */
export function traceMethods(): void {
  const { tracer, manager } = setUp();
  const spans = new WeakMap<object, Span>();
  const calls = diagnosticsChannel.tracingChannel('run-in-process:child:call');
  // Entered before the method runs, for all the code it runs: its span's context.
  calls.start.bindStore(manager.store, (message) => {
    const call = message as ChildCallContext;
    const parent = propagation.extract(ROOT_CONTEXT, call.carrier);
    const span = tracer.startSpan(`run ${call.target}`, {}, parent);
    spans.set(call, span);
    return trace.setSpan(parent, span);
  });
  calls.subscribe({
    start() {},
    end() {},
    asyncStart() {},
    asyncEnd: (message) => spans.get(message as object)?.end(),
    error: (message) => failed(spans.get(message as object), (message as { error: unknown }).error),
  });
}
