/**
 * Money as Spantree keeps it: USD, exact to 1e-8 USD (a millionth of a cent), held in a double.
 *
 * Why not plain doubles: costs are decimal fractions doubles cannot hold, and adding them directly
 * drifts: 0.00962103 + 0.00000011 is 0.009621139999999999, not 0.00962114, and a trace's rollup
 * adds thousands of such costs. So every cost is rounded to whole units of 1e-8 USD, and costs
 * are added as integer units, which doubles hold exactly below 2^53 units (about 90 million USD);
 * only the final division turns units back into USD.
 *
 * Why a double at all, and not a decimal column or an integer one: a correctly rounded
 * `units / 1e8` is the double nearest the decimal, and both databases store a double exactly
 * (SQLite REAL, PostgreSQL double precision), so SQLite and PostgreSQL return the same value and it
 * prints as the decimal it stands for (962114 units print as 0.00962114), with no migration of the
 * columns the API already exposes as Float.
 */

/** Units per USD: costs are whole multiples of 1 / COST_SCALE USD. */
export const COST_SCALE = 100_000_000;

/** A USD amount as integer units of 1e-8 USD, rounded to the nearest unit (halves up). */
export function toCostUnits(usd: number): number {
  // `+ 0` turns the -0 that rounding a tiny negative amount gives into 0, which prints as "0".
  return Math.round(usd * COST_SCALE) + 0;
}

/**
 * Integer units of 1e-8 USD as USD. One division, correctly rounded, gives the double nearest the
 * decimal, so the result prints as that decimal (962114 → 0.00962114).
 */
export function fromCostUnits(units: number): number {
  return units / COST_SCALE;
}

/**
 * Beyond this many USD (about 90 million) whole units no longer fit a double exactly, and a double's
 * own spacing is already near 1e-8: amounts that large are kept and added as the doubles they are.
 */
const EXACT_LIMIT = Number.MAX_SAFE_INTEGER / COST_SCALE;

/** A USD amount rounded to 1e-8 USD, the precision every stored cost has. */
export function roundCost(usd: number): number {
  return Math.abs(usd) > EXACT_LIMIT ? usd : fromCostUnits(toCostUnits(usd));
}

/** The sum of USD amounts, each rounded to 1e-8 USD and added in integer units, so it does not drift. */
export function addCosts(...usd: number[]): number {
  let units = 0;
  for (const amount of usd) units += toCostUnits(amount);
  if (Math.abs(units) <= Number.MAX_SAFE_INTEGER && usd.every((amount) => Math.abs(amount) <= EXACT_LIMIT)) return fromCostUnits(units);
  return usd.reduce((sum, amount) => sum + amount, 0);
}
