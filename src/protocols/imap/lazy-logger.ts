/**
 * A session's logger whose child (with the session's bindings) is made on first use: an IDLE
 * connection that never logs does not hold a pino child (its bindings serialised, its own
 * prototype chain) among thousands of others. Methods on the prototype: no closures per session.
 */
import type { Logger } from '../../core/logger.js';

/** pino's loggers have it; the project's Logger shape does not require it. */
interface LevelAware {
  isLevelEnabled?(level: string): boolean;
}

export class LazyLogger implements Logger {
  private made: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Record<string, unknown>,
  ) {}

  private get real(): Logger {
    return (this.made ??= this.parent.child(this.bindings));
  }

  debug(a: object | string, msg?: string): void {
    this.call('debug', a, msg);
  }

  info(a: object | string, msg?: string): void {
    this.call('info', a, msg);
  }

  warn(a: object | string, msg?: string): void {
    this.call('warn', a, msg);
  }

  error(a: object | string, msg?: string): void {
    this.call('error', a, msg);
  }

  child(bindings: Record<string, unknown>): Logger {
    return this.real.child(bindings);
  }

  private call(level: 'debug' | 'info' | 'warn' | 'error', a: object | string, msg: string | undefined): void {
    // A level the parent drops (pino: debug, logged after every command) makes no child: the
    // child would inherit the parent's level and drop it too.
    if ((this.parent as LevelAware).isLevelEnabled?.(level) === false) return;
    const l = this.real;
    // As many arguments as were given: pino reads a trailing undefined as a message.
    if (typeof a === 'string') l[level](a);
    else if (msg === undefined) l[level](a);
    else l[level](a, msg);
  }
}
