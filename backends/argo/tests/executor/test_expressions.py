"""Argo's expression language (``{{=...}}``), by the rules of each pinned release.

The cases are re-expressed from upstream's own tests: argo-workflows ``util/template/template_test.go``
(``ExpressionWithEscapedCharacters``, ``ExpressionWithJsonPath``), ``expression_template_test.go``
(``Test_getIdentifiers``, ``Test_anyVarNotInEnv``, ``Test_missingVarsInEnv``), ``util/expr/env`` and expr-lang's
``expr_test.go``/``vm/runtime`` helpers for the operators, and from the corpus of Argo's examples.
"""

from __future__ import annotations

import math

import pytest
from flowyard_argo.executor.expr.check import unsupported
from flowyard_argo.executor.expr.environment import expand
from flowyard_argo.executor.expr.errors import ExprError, ExprRefused
from flowyard_argo.executor.expr.evaluate import evaluate
from flowyard_argo.executor.expr.jsonpath import query
from flowyard_argo.executor.expr.parser import parse
from flowyard_argo.executor.expr.regex import matches
from flowyard_argo.executor.expr.tags import identifiers
from flowyard_argo.executor.template import TemplateError, substitute_object
from flowyard_argo.executor.versions import ARGO_VERSIONS, argo_version

EMPLOYEES = (
    '{"employees": [{"name": "Baris", "age":43, "friends": ["Mo", "Jai"]}, {"name": "Mo", "age": 42, '
    '"friends": ["Baris", "Jai"]}, {"name": "Jai", "age" :44, "friends": ["Baris", "Mo"]}]}'
)


def replace(value: str, values: dict[str, str | None] | None = None, version: str = "4.1.2", **kw: object) -> str:
    """``processTemplate``: the value in a JSON document, replaced, parsed back."""
    kw.setdefault("allow_unresolved", True)
    out = substitute_object({"v": value}, values or {}, version=argo_version(version), **kw)  # type: ignore[arg-type]
    return str(out["v"])


def value_of(source: str, values: dict[str, str | None] | None = None, legacy: bool = False) -> object:
    return evaluate(parse(source), expand(values or {}), legacy=legacy)


@pytest.mark.parametrize("version", ARGO_VERSIONS)
@pytest.mark.parametrize(
    ("tag", "want"),
    [
        ("{{='test'}}", "test"),
        ('{{="test"}}', "test"),
        ("{{='some\\\\path\\\\with\\\\backslashes'}}", "some\\path\\with\\backslashes"),
        ("{{='some\\nstring\\nwith\\nescaped\\nnewlines'}}", "some\nstring\nwith\nescaped\nnewlines"),
        ("{{=1 + \n1}}", "2"),
        ("{{=toJson('test')}}", '"test"'),
        ("{{=toJson({test: 1})}}", '{"test":1}'),
        ("{{=toJson([1, '2', {an: 'object'}])}}", '[1,"2",{"an":"object"}]'),
        ('{{="\'"}}', "'"),
        ("{{='\"'}}", '"'),
        ("{{=true == false}}", "false"),
        (f"{{{{=jsonpath('{EMPLOYEES}', '$.employees[*].name')}}}}", '["Baris","Mo","Jai"]'),
        (f"{{{{=jsonpath('{EMPLOYEES}', '$.employees[0].friends')}}}}", '["Mo","Jai"]'),
        (f"{{{{=jsonpath('{EMPLOYEES}', '$.employees[0]')}}}}", '{"age":43,"friends":["Mo","Jai"],"name":"Baris"}'),
    ],
)
def test_upstream_template_cases(tag, want, version):
    """``Test_Template_Replace``: escapes, JSON results and jsonpath outputs, the same in every pinned release."""
    assert replace(tag, version=version) == want


@pytest.mark.parametrize(
    ("source", "want"),
    [
        ("item.requiredKey", ["item", "item.requiredKey"]),
        ("item.optionalKey ?? 'fallback'", ["item"]),
        ("item['optionalKey'] ?? ''", ["item"]),
        ("item?.optionalKey", ["item"]),
        ("item.a?.b", ["item"]),
        ("item.requiredKey + (item.optionalKey ?? 'x')", ["item", "item.requiredKey"]),
        ("tasks.a.outputs.result ?? 'default'", ["tasks"]),
    ],
)
def test_identifiers_guarded_by_coalescing_and_optional_chaining(source, want):
    """``Test_getIdentifiers``."""
    assert sorted(identifiers(parse(source))) == sorted(want)


@pytest.mark.parametrize("version", ARGO_VERSIONS)
@pytest.mark.parametrize(
    "source", ["retries", "retries + 1", "item", "sprig.upper(item)", 'workflow.status == "Succeeded" ? "A" : "B"']
)
def test_late_bound_variables_wait_for_their_pass(source, version):
    """``Test_anyVarNotInEnv``: an absent late-bound variable keeps the tag for a later pass."""
    tag = "{{=" + source + "}}"
    assert replace(tag, version=version) == tag


def test_a_string_literal_is_not_an_identifier_and_present_values_resolve():
    assert replace('{{="workflow.status" == "Succeeded" ? "S" : "F"}}') == "F"
    assert replace("{{=asInt(retries) + 1}}", {"retries": "1"}) == "2"


def test_a_nil_leaf_is_present_and_coalesces():
    """``Test_missingVarsInEnv``: an absent optional (v4's nil) counts as present; ``??`` takes the fallback."""
    values: dict[str, str | None] = {"tasks.a.out": None}
    assert replace("{{=tasks.a.out ?? 'x'}}", values, strict_prefixes=("tasks",)) == "x"


def test_v4_strict_references_name_the_missing_identifier_and_v3_keeps_the_tag():
    """``expressionReplaceStrict``: a missing ``tasks.`` identifier fails by name in 4.x (``ReplaceStrict``)."""
    values: dict[str, str | None] = {"tasks.a.outputs.result": "1"}
    with pytest.raises(TemplateError, match=r"failed to evaluate expression: tasks\.b is missing"):
        replace("{{=tasks.b.outputs.result}}", values, strict_prefixes=("tasks",))
    assert replace("{{=tasks.b.outputs.result}}", values, version="3.6.19") == "{{=tasks.b.outputs.result}}"


@pytest.mark.parametrize(
    ("source", "want"),
    [
        ("7 / 2", 3.5),  # runtime.Divide: always float64
        ("6 / 3", 2.0),
        ("7 % 2", 1),
        ("-7 % 2", -1),  # Go truncates toward zero
        ("2 ** 3", 8.0),
        ("2 ^ 3 ^ 2", 512.0),  # right associative
        ("9223372036854775807 + 1", -9223372036854775808),  # int64 wraps
        ("1 + 1.5", 2.5),
        ("-2 ** 2", -4.0),
        ("'a' + 'b'", "ab"),
        ("1 == 1.0", True),
        ("'1' == 1", False),
        ("[1, 2] == [1, 2]", True),
        ("[1] == [1.0]", False),  # reflect.DeepEqual: int is not float64
        ("'b' > 'a'", True),
        ("1 < 2 < 3", True),
        ("3 > 2 > 1", True),
        ("true ? 1 : 2", 1),
        ("nil ?? 'x'", "x"),
        ("{a: nil}.a?.b.c ?? 'cut'", "cut"),  # a nil before ?. makes the whole chain nil
        ("'' ?? 'x'", ""),
        ("2 in [1, 2]", True),
        ("'a' in {a: 1}", True),
        ("'b' not in {a: 1}", True),
        ("not true", False),
        ("!false && true", True),
        ("false or true", True),
        ("'abc' matches '^a'", True),
        ("'abc' not matches '^b'", True),
        ("'abc' contains 'b' and 'abc' startsWith 'a' and 'abc' endsWith 'c'", True),
        ("filter([1, 2, 3], # > 1)", [2, 3]),
        ("map([1, 2], {# * 2})", [2, 4]),
        ("all([1, 2], {# > 0})", True),
        ("any([1, 2], # > 1)", True),
        ("count([1, 2, 3], # > 1)", 2),
        ("none([1, 2], # > 5)", True),
        ("filter([{n: 1}, {n: 2}], .n > 1)", [{"n": 2}]),
        ("len('héllo')", 6),  # bytes, as Go counts
        ("'abc'[1]", 98),  # a string's index is a byte
        ("[1, 2, 3][-1]", 3),
        ("[1, 2, 3][1:]", [2, 3]),
        ("string(1.0)", "1"),
        ("string(1e21)", "1e+21"),
        ("string(0.00001)", "1e-05"),
        ("string([1, 'a'])", "[1 a]"),
        ("float('1.5') + 1", 2.5),
        ("upper('ß')", "ß"),  # strings.ToUpper maps rune by rune
        ("trim('  x\\t')", "x"),
        ("split('a,b', ',')", ["a", "b"]),
        ("sprig.replace('a', 'b', 'aa')", "bb"),  # sprig takes the subject last
        ("sprig.trimAll('-', '--x--')", "x"),
        ("sprig.add(1, 2.9, '3') / 2", 3.0),  # cast.ToInt64 truncates
        ("sprig.default('d', '')", "d"),
        ("sprig.b64dec('eyJ0IjogMX0=')", '{"t": 1}'),
    ],
)
def test_operators_and_functions_follow_go(source, want):
    got = value_of(source)
    assert got == want and type(got) is type(want), (source, got)


def test_division_by_zero_and_errors_as_go_gives_them():
    assert value_of("1 / 0") == math.inf and math.isnan(value_of("0 / 0"))  # type: ignore[arg-type]
    assert value_of("0 ** -1") == math.inf and math.isnan(value_of("(-8) ** 0.5"))  # type: ignore[arg-type]
    with pytest.raises(ExprError, match="integer divide by zero"):
        value_of("1 % 0")
    with pytest.raises(ExprError, match=r"invalid operation: int \+ string"):
        value_of("1 + 'a'")
    with pytest.raises(ExprError, match="unknown name nope"):
        value_of("nope")
    with pytest.raises(ExprError, match="cannot fetch x from <nil>"):
        value_of("a.b.x", {"a.c": "1"})
    with pytest.raises(ExprError, match="integer literal is too large"):
        value_of("9223372036854775808")
    with pytest.raises(ExprError, match="invalid binary literal"):
        value_of("0b")  # found by fuzzing: Python's int() error escaped


def test_names_with_a_dash_need_brackets():
    """Identifiers have no ``-``: ``inputs.parameters.my-param`` is a subtraction; ``['my-param']`` reads it."""
    values: dict[str, str | None] = {"inputs.parameters.my-param": "7"}
    assert value_of("asInt(inputs.parameters['my-param']) * 10", values) == 70
    with pytest.raises(ExprError):
        value_of("inputs.parameters.my-param", values)


@pytest.mark.parametrize(
    ("legacy", "message"),
    [(True, r'strconv\.ParseInt: parsing "1\.5": invalid syntax'), (False, r"invalid operation: int\(1\.5\)")],
)
def test_as_int_per_version(legacy, message):
    """3.6 ``argoproj/pkg`` ``AsInt`` (``ParseInt``) against 3.7+'s alias of expr's ``int`` (``Atoi``)."""
    assert value_of("asInt('42') * 10", legacy=legacy) == 420
    assert value_of("asInt(2.9)", legacy=legacy) == 2
    with pytest.raises(ExprError, match=message):
        value_of("asInt('1.5')", legacy=legacy)
    with pytest.raises(ExprError):
        value_of("asInt(' 4')", legacy=legacy)  # no spaces, where Python's int() would take them


@pytest.mark.parametrize("version", ARGO_VERSIONS)
def test_results_are_written_into_the_json_string_as_go_marshals_them(version):
    assert replace("{{=1.5}}", version=version) == "1.5"
    assert replace("{{=1e21}}", version=version) == "1e+21"
    # a list's JSON is quoted into the string: Go's HTML escape stays as text; a string's is decoded with it
    assert replace("n={{=[1, 'a<b']}}", version=version) == 'n=[1,"a\\u003cb"]'
    assert replace("{{='a<b'}}", version=version) == "a<b"
    assert replace("{{=toJson({b: 1, a: 'x'})}}", version=version) == '{"a":"x","b":1}'
    assert replace("{{='line\\nbreak'}}", version=version) == "line\nbreak"
    with pytest.raises(TemplateError, match="failed to evaluate expression"):
        replace("{{=1 + 'a'}}", version=version, allow_unresolved=False)
    assert replace("{{=1 + 'a'}}", version=version) == "{{=1 + 'a'}}"  # unresolved allowed: kept for later


def test_the_corpus_snippet_reuses_a_verbose_expression():
    """``expression-reusing-verbose-snippets.yaml``: ``map`` aliases a value as ``#``; sprig math on it."""
    weather = '{"weekWeather": "eyJ0ZW1wcyI6IFszNCwgMjcsIDE1LCA1NywgNDZdfQo="}'
    source = (
        "map([jsonpath(sprig.b64dec(jsonpath(workflow.parameters.weather, '$.weekWeather')), '$.temps')], "
        "{toJson({avg: sprig.add(#[0], #[1], #[2], #[3], #[4]) / 5, min: sprig.min(#[0], #[1], #[2], #[3], #[4]),"
        " max: sprig.max(#[0], #[1], #[2], #[3], #[4])})})[0]"
    )
    assert value_of(source, {"workflow.parameters.weather": weather}) == '{"avg":35.8,"max":57,"min":15}'


def test_jsonpath_in_the_dialect_argo_pins():
    """evilmonkeyinc/jsonpath v0.8.1: keys give values, collections give lists, numbers are float64."""
    assert query(EMPLOYEES, '$.employees[?(@.name=="Baris")].age') == [43.0]
    assert query(EMPLOYEES, "$.employees[?(@.age>42 && @.age<44)].age") == [43.0]
    assert query(EMPLOYEES, "$.employees[0:1]") == [{"name": "Baris", "age": 43.0, "friends": ["Mo", "Jai"]}]
    assert query(EMPLOYEES, "$.employees[-1].name") == "Jai"
    assert query('[{"value": "true"}]', "$[0].value") == "true"
    assert query('{"v": {"a": [1, "x"]}}', "$.v") == {"a": [1.0, "x"]}
    with pytest.raises(ExprError, match="'nope' not found"):
        query(EMPLOYEES, "$.nope")
    with pytest.raises(ExprRefused, match="recursive descent"):
        query(EMPLOYEES, "$..name")


def test_matches_is_re2():
    """``$`` is the end of the text (Python would also match before a final newline); ``\\s`` has no ``\\v``."""
    assert not matches("ab\n", "b$")
    assert matches("ab\n", "(?m)b$")
    assert not matches("\v", "\\s")
    assert matches("x9", "\\d")
    assert not matches("٣", "\\d")  # RE2's \d is ASCII
    for pattern, name in [("(a)\\1", "backreferences"), ("a(?=b)", "lookahead"), ("a*+", "possessive")]:
        with pytest.raises(ExprRefused, match=name):
            matches("a", pattern)


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ("sprig.sha256sum('x')", "sprig.sha256sum"),
        ("let x = 1; x", "'let' expressions"),
        ("foo(1)", "the function foo()"),
        ("1..3", "ranges"),
        ("x | upper()", "pipes"),
        ("reduce([1], #acc)", "reduce"),
        ("workflow.name.Size()", "method calls"),
    ],
)
def test_what_the_executor_cannot_evaluate_is_named_before_the_run(source, named):
    why = unsupported(source)
    assert why is not None and named in why, why


def test_the_supported_subset_is_not_refused():
    for source in ["asInt(inputs.parameters.foo) * 10", "filter(data, {# endsWith 'main.log'})", "now()", "x ?? 'y'"]:
        assert unsupported(source) is None, source
