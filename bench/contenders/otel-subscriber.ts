import diagnosticsChannel from 'node:diagnostics_channel';
import { defaultTextMapSetter, ROOT_CONTEXT, type Span, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { CallContext } from 'run-in-process';

/**
 * What an OpenTelemetry instrumentation of `run-in-process:call` does for each call: a real SDK span,
 * its W3C context injected into the call's carrier (so it travels to the child), ended when the value
 * is rebuilt. No span processor: what exporting costs is the app's choice, not the library's. No
 * global context manager either: its AsyncLocalStorage would slow every contender in this process.
 */
const tracer = new BasicTracerProvider().getTracer('run-in-process-bench');
const propagator = new W3CTraceContextPropagator();
const spans = new WeakMap<object, Span>();
const end = (message: unknown) => spans.get(message as object)?.end();

const handlers = {
  start(message: unknown) {
    const call = message as CallContext;
    const span = tracer.startSpan(`call ${call.target}`);
    spans.set(call, span);
    propagator.inject(trace.setSpan(ROOT_CONTEXT, span), call.carrier, defaultTextMapSetter);
  },
  end() {},
  asyncStart() {},
  asyncEnd: end,
  error: end,
};

const channel = diagnosticsChannel.tracingChannel('run-in-process:call');

/** Subscribes; the returned function unsubscribes, so that the other contenders run with nobody listening. */
export function subscribeTracer(): () => void {
  channel.subscribe(handlers);
  return () => channel.unsubscribe(handlers);
}
