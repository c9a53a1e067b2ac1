/**
 * A judge's results on a span (`Span.observations`, `Span.scorerContext`): the observations as the
 * judge wrote them, and the scorer context one row per criterion, with a `{}` toggle to the JSON as
 * stored. Both are content: where the retention rule kept none, it says "retained: no" as the input
 * and output do.
 */
import { useState } from 'preact/hooks';
import { prettyJson } from '../format.ts';
import { NotRetained } from './Chat.tsx';

type Scalar = string | number | boolean;
type Criterion = Scalar | Record<string, unknown>;

export function JudgeResults(props: { type: string; observations: string | null; scorerContext: unknown; retained: boolean }) {
  const { type, observations, scorerContext, retained } = props;
  const [raw, setRaw] = useState(false);
  const empty = observations === null && (scorerContext === null || scorerContext === undefined);
  // Judges run on generations: only there is a missing result worth a "retained: no".
  if (empty && (retained || type !== 'GENERATION')) return null;
  const criteria = criteriaOf(scorerContext);
  return (
    <section class="content-block judge" data-testid="span-judge">
      <header>
        <h3>Judge</h3>
        {criteria && (
          <button type="button" class={`toggle-raw${raw ? ' on' : ''}`} aria-pressed={raw} title={raw ? 'Show per criterion' : 'Show raw JSON'} onClick={() => setRaw(!raw)}>
            {'{}'}
          </button>
        )}
      </header>
      {empty ? (
        <p class="muted">
          <NotRetained>retained: no — the retention rule kept no judge results for this span</NotRetained>
        </p>
      ) : (
        <>
          {observations !== null && (
            <p class="judge-observations" data-testid="judge-observations">
              {observations}
            </p>
          )}
          {scorerContext !== null && scorerContext !== undefined && (criteria && !raw ? (
            <table class="criteria" data-testid="judge-criteria">
              <tbody>
                {criteria.map(([name, value]) => (
                  <tr key={name} data-criterion={name}>
                    <th>{name}</th>
                    <td>
                      <div class="criterion">
                        <CriterionValue value={value} />
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <pre class="json" data-testid="judge-scorer-context-raw">
              {prettyJson(scorerContext)}
            </pre>
          ))}
        </>
      )}
    </section>
  );
}

/**
 * The scorer context as criteria: an object whose every entry is a criterion, its value a score, a
 * verdict or an object describing it. Anything else (lists, nulls, an empty object) is shown as JSON.
 */
function criteriaOf(value: unknown): [string, Criterion][] | null {
  if (!isObject(value)) return null;
  const entries = Object.entries(value);
  if (entries.length === 0) return null;
  return entries.every(([, item]) => isScalar(item) || isObject(item)) ? (entries as [string, Criterion][]) : null;
}

/** One criterion: its score first when it has one, then what else the judge said of it. */
function CriterionValue({ value }: { value: Criterion }) {
  if (!isObject(value)) return <span class="criterion-text">{String(value)}</span>;
  const score = isScalar(value.score) ? value.score : undefined;
  const others = Object.entries(value).filter(([key]) => score === undefined || key !== 'score');
  return (
    <>
      {score !== undefined && <span class="criterion-score">{String(score)}</span>}
      {others.map(([key, item]) => (
        <span key={key} class="criterion-part">
          <span class="muted">{key}:</span> {typeof item === 'string' ? item : JSON.stringify(item)}
        </span>
      ))}
    </>
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isScalar(value: unknown): value is Scalar {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}
