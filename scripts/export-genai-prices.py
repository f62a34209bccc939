"""Writes the pricing data of the Python package genai-prices as the Provider[] JSON that the
JavaScript library @pydantic/genai-prices reads through updatePrices(), so that the JavaScript
library prices calls from the Python package's (newer) data.

Only what pricing a call needs is kept: each provider's id, name, api_pattern, provider_match,
model_match and fallback_model_providers, and each model's id, match and prices (dated and
time-of-day price sets, tiers). Descriptions, comments, context windows and usage extractors are
left out. So are price variants (batch, service tiers, regional routes): they apply only to calls
priced with a request context, which the JavaScript library has no notion of, and the table prices
the standard call.

Anything the JavaScript library would read differently stops the export instead of being guessed:
a price key outside the unit registry the two libraries share, a price a double cannot hold
exactly, an unknown constraint or match clause, or a regular expression using Python-only syntax.

With --reference, it also prices a corpus of calls with the Python library's calc_price and writes
them, for the refresh to replay against the JavaScript library.

    python export-genai-prices.py --out <snapshot.json> [--reference <calls.json> --as-of <YYYY-MM-DD> [--names <file>]]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import genai_prices
from genai_prices import types
from genai_prices.data import providers
from genai_prices.data_units import unit_data

PRICE_KEYS = {unit.get('price_key', usage_key) for usage_key, unit in unit_data.items()}
# Group syntax both engines read alike: non-capturing groups and lookarounds. Anything else after
# "(?" (named groups, inline flags, comments) and Python's \A / \Z anchors differ in JavaScript.
PYTHON_ONLY_GROUP = re.compile(r'\(\?(?!:|=|!|<=|<!)')
PYTHON_ANCHOR = re.compile(r'(?<!\\)\\[AZ]')


def fail(message: str) -> None:
    sys.exit(f'export-genai-prices: {message}')


def number(value: Decimal | int, what: str) -> float | int:
    if isinstance(value, int):
        return value
    as_float = float(value)
    if Decimal(repr(as_float)) != value:
        fail(f'{what} is {value}, which a double cannot hold exactly')
    return int(as_float) if as_float.is_integer() else as_float


def price(value: Decimal | types.TieredPrices, what: str) -> object:
    if isinstance(value, types.TieredPrices):
        return {
            'base': number(value.base, what),
            'tiers': [{'start': tier.start, 'price': number(tier.price, what)} for tier in value.tiers],
        }
    return number(value, what)


def model_price(prices: types.ModelPrice, what: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in prices.__dict__.items():
        if key.startswith('_') or value is None:
            continue
        if key not in PRICE_KEYS:
            fail(f'{what} has price key {key}, which the unit registry does not define')
        out[key] = price(value, f'{what} {key}')
    return out


def time_of_day(value: time) -> str:
    # The JavaScript library requires a zone; a naive time is UTC in the Python library.
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else datetime.combine(date(1970, 1, 1), value).astimezone(UTC)
    return utc.strftime('%H:%M:%S') + (f'.{utc.microsecond:06d}' if utc.microsecond else '') + 'Z'


def constraint(value: object, what: str) -> dict[str, str]:
    if isinstance(value, types.StartDateConstraint):
        return {'start_date': value.start_date.isoformat(), 'type': 'start_date'}
    if isinstance(value, types.TimeOfDateConstraint):
        return {'start_time': time_of_day(value.start_time), 'end_time': time_of_day(value.end_time), 'type': 'time_of_date'}
    fail(f'{what} has an unknown price constraint {value!r}')
    raise AssertionError


def prices(model: types.ModelInfo, what: str) -> object:
    if isinstance(model.prices, types.ModelPrice):
        return model_price(model.prices, what)
    return [
        {'prices': model_price(conditional.prices, what)}
        if conditional.constraint is None
        else {'constraint': constraint(conditional.constraint, what), 'prices': model_price(conditional.prices, what)}
        for conditional in model.prices
    ]


def portable_regex(regex: str, what: str) -> str:
    if PYTHON_ONLY_GROUP.search(regex) or PYTHON_ANCHOR.search(regex):
        fail(f'{what} has the regex {regex!r}, which JavaScript reads differently')
    return regex


def match(clause: object, what: str) -> dict[str, object]:
    if isinstance(clause, types.ClauseOr):
        return {'or': [match(child, what) for child in clause.or_]}
    if isinstance(clause, types.ClauseAnd):
        return {'and': [match(child, what) for child in clause.and_]}
    if isinstance(clause, types.ClauseRegex):
        return {'regex': portable_regex(clause.regex, what)}
    for key in ('equals', 'starts_with', 'ends_with', 'contains'):
        if hasattr(clause, key):
            return {key: getattr(clause, key)}
    fail(f'{what} has an unknown match clause {clause!r}')
    raise AssertionError


def provider(source: types.Provider) -> dict[str, object]:
    out: dict[str, object] = {
        'id': source.id,
        'name': source.name,
        'api_pattern': portable_regex(source.api_pattern, f'provider {source.id}'),
    }
    if source.provider_match is not None:
        out['provider_match'] = match(source.provider_match, f'provider {source.id}')
    if source.model_match is not None:
        out['model_match'] = match(source.model_match, f'provider {source.id}')
    if source.fallback_model_providers:
        out['fallback_model_providers'] = source.fallback_model_providers
    out['models'] = [
        {
            'id': model.id,
            'match': match(model.match, f'{source.id} {model.id}'),
            'prices': prices(model, f'{source.id} {model.id}'),
        }
        for model in source.models
    ]
    return out


def write_snapshot(path: str) -> None:
    # One model a line: small, and a data update reads as a diff of the models it changed.
    exported = [provider(source) for source in providers]
    compact = {'separators': (',', ':'), 'ensure_ascii': False}
    lines = [f'{{"package":"genai-prices","version":{json.dumps(genai_prices.__version__)},"providers":[']
    for index, entry in enumerate(exported):
        header = {key: value for key, value in entry.items() if key != 'models'}
        lines.append(json.dumps(header, **compact)[:-1] + ',"models":[')
        models = [json.dumps(model, **compact) for model in entry['models']]
        lines.extend(f'{line},' for line in models[:-1])
        lines.extend(models[-1:])
        lines.append(']}' + (',' if index < len(exported) - 1 else ''))
    lines.append(']}')
    with open(path, 'w', encoding='utf-8') as file:
        file.write('\n'.join(lines) + '\n')


def stated_names(model: types.ModelInfo) -> list[str]:
    names = [] if model.id.endswith('-') else [model.id]

    def walk(clause: object) -> None:
        if isinstance(clause, types.ClauseEquals):
            names.append(clause.equals)
        for child in getattr(clause, 'or_', None) or getattr(clause, 'and_', None) or []:
            walk(child)

    walk(model.match)
    return names


def tier_starts(model: types.ModelInfo) -> set[int]:
    sets = [model.prices] if isinstance(model.prices, types.ModelPrice) else [c.prices for c in model.prices]
    return {
        tier.start
        for prices in sets
        for value in prices.__dict__.values()
        if isinstance(value, types.TieredPrices)
        for tier in value.tiers
    }


# A call reporting every unit of the registry, so that each unit's divisor and direction is checked
# wherever a model prices it, not only the text tokens the table is written from.
MULTIMODAL = {
    'input_tokens': 50_000,
    'cache_read_tokens': 10_000,
    'cache_write_tokens': 8_000,
    'cache_write_5m_tokens': 3_000,
    'cache_write_1h_tokens': 2_000,
    'input_audio_tokens': 4_000,
    'cache_audio_read_tokens': 1_000,
    'input_image_tokens': 3_000,
    'cache_image_read_tokens': 500,
    'input_video_tokens': 1_000,
    'output_tokens': 6_000,
    'output_reasoning_tokens': 2_000,
    'output_audio_tokens': 1_000,
    'output_image_tokens': 500,
    'output_citation_tokens': 100,
    'audio_seconds': 120,
    'input_audio_seconds': 60,
    'output_audio_seconds': 30,
    'input_characters': 1_000,
    'input_text_messages': 10,
    'input_pixels': 2_000_000,
    'input_document_pages': 5,
    'input_annotated_document_pages': 2,
    'rerank_searches': 1,
    'web_searches': 3,
    'social_searches': 1,
    'storage_searches': 2,
    'code_executions': 1,
}


def usages(starts: set[int]) -> list[dict[str, int]]:
    """Plain, cached, cache-written and reasoning calls, then calls at, just above and far above each
    tier start. In genai-prices, cache_write_tokens counts every write, of which the 5-minute and
    1-hour ones; input_tokens and output_tokens include their parts."""
    calls = [
        {'input_tokens': 1_234, 'output_tokens': 567},
        {'input_tokens': 10_000, 'output_tokens': 500, 'cache_read_tokens': 8_000},
        {'input_tokens': 37_000, 'output_tokens': 800, 'cache_read_tokens': 30_000, 'cache_write_tokens': 5_000},
        {'input_tokens': 20_000, 'output_tokens': 1_000, 'cache_read_tokens': 1_000, 'cache_write_tokens': 5_000, 'cache_write_1h_tokens': 2_000},
        {'input_tokens': 20_000, 'output_tokens': 1_000, 'cache_write_tokens': 5_000, 'cache_write_5m_tokens': 3_000, 'cache_write_1h_tokens': 2_000},
        {'input_tokens': 4_321, 'output_tokens': 3_000, 'output_reasoning_tokens': 2_000},
        MULTIMODAL,
    ]
    for start in sorted(starts):
        for input_tokens in (start, start + 1, start * 2 + 345):
            calls.append({'input_tokens': input_tokens, 'output_tokens': 1_000})
            calls.append({
                'input_tokens': input_tokens,
                'output_tokens': 2_500,
                'cache_read_tokens': input_tokens // 2,
                'cache_write_tokens': input_tokens // 8 + input_tokens // 16,
                'cache_write_1h_tokens': input_tokens // 16,
                'output_reasoning_tokens': 1_500,
            })
    return calls


def price_call(provider_id: str | None, name: str, instant: datetime, usage: dict[str, int]) -> dict[str, object]:
    call: dict[str, object] = {'provider': provider_id, 'model': name, 'timestamp': instant.isoformat(), 'usage': usage}
    try:
        result = genai_prices.calc_price(
            genai_prices.Usage(**usage), name, provider_id=provider_id, genai_request_timestamp=instant
        )
    except (LookupError, ValueError) as error:
        call['error'] = str(error)
    else:
        call['model_id'] = result.model.id
        call['provider_id'] = result.provider.id
        for part in ('input_price', 'output_price', 'total_price'):
            call[part] = str(getattr(result, part))
    return call


def write_reference(path: str, as_of: datetime, extra_names: list[str]) -> int:
    """Prices, with the Python library, every stated name of every model: under its provider with
    every usage, and once with the provider left to the library (found by the model's name); then
    each extra name (dated snapshots a prefix rule covers) under the two vendors and unspecified."""
    calls = []
    for source in providers:
        for model in source.models:
            # Dated and time-of-day price sets are priced at other instants too.
            instants = [as_of]
            if isinstance(model.prices, list):
                instants += [as_of - timedelta(days=700), as_of.replace(hour=2), as_of.replace(hour=20)]
            for name in stated_names(model):
                calls.append(price_call(None, name, as_of, usages(set())[0]))
                for instant in instants:
                    for usage in usages(tier_starts(model)):
                        calls.append(price_call(source.id, name, instant, usage))
    for name in extra_names:
        for provider_id in (None, 'openai', 'anthropic'):
            for usage in usages(set()):
                calls.append(price_call(provider_id, name, as_of, usage))
    with open(path, 'w', encoding='utf-8') as file:
        json.dump(calls, file)
    return len(calls)


def main() -> None:
    parser = argparse.ArgumentParser(description='Export genai-prices data for @pydantic/genai-prices.')
    parser.add_argument('--out', required=True)
    parser.add_argument('--reference')
    parser.add_argument('--as-of')
    parser.add_argument('--names', help='a file of extra model names to price, one a line')
    args = parser.parse_args()
    write_snapshot(args.out)
    if args.reference:
        if not args.as_of:
            fail('--reference needs --as-of')
        extra_names = []
        if args.names:
            with open(args.names, encoding='utf-8') as file:
                extra_names = [line.strip() for line in file if line.strip() and not line.startswith('#')]
        as_of = datetime.fromisoformat(f'{args.as_of}T12:00:00+00:00')
        count = write_reference(args.reference, as_of, extra_names)
        print(f'export-genai-prices: priced {count} calls with genai-prices {genai_prices.__version__}')


if __name__ == '__main__':
    main()
