using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chirp.Federation.Planning;
using Chirp.Federation.Schema;
using GraphQLParser.AST;

namespace Chirp.Federation.Validation;

/// <summary>
/// CoerceVariableValues of GraphQL spec section 6.1.2, with the input coercion rules of section 3 (scalars, enums,
/// lists, input objects). The result holds only variables that have a value (provided or defaulted), as fresh JSON.
/// </summary>
internal static class VariableCoercion
{
    public static JsonObject Coerce(Supergraph supergraph, GraphQLOperationDefinition operation, JsonObject? values, SourceLines lines, List<JsonObject> errors)
    {
        var coerced = new JsonObject();
        foreach (var definition in operation.Variables?.Items ?? [])
        {
            var name = definition.Variable.Name.StringValue;
            var provided = values is not null && values.TryGetPropertyValue(name, out _);
            var value = provided ? values![name] : null;
            string? problem = null;
            if (!provided && definition.DefaultValue is not null)
            {
                coerced[name] = FromLiteral(definition.DefaultValue);
                continue;
            }

            if (definition.Type is GraphQLNonNullType && value is null)
            {
                problem = provided ? "must not be null" : "was not provided";
            }
            else if (provided)
            {
                coerced[name] = value is null ? null : CoerceValue(supergraph, value, definition.Type, "", out problem);
            }

            if (problem is not null)
            {
                var error = new JsonObject { ["message"] = $"Variable '${name}' of type '{Print(definition.Type)}' {problem}." };
                if (lines.Find(definition.Location) is { } location)
                {
                    error["locations"] = new JsonArray(new JsonObject { ["line"] = location.Line, ["column"] = location.Column });
                }

                error["extensions"] = new JsonObject { ["code"] = Chirp.Contracts.ErrorCodes.BadUserInput };
                errors.Add(error);
            }
        }

        return coerced;
    }

    private static JsonNode? CoerceValue(Supergraph supergraph, JsonNode? value, GraphQLType type, string at, out string? problem)
    {
        problem = null;
        if (type is GraphQLNonNullType nonNull)
        {
            if (value is null)
            {
                problem = $"has null at {At(at)}, where a value is required";
                return null;
            }

            return CoerceValue(supergraph, value, nonNull.Type, at, out problem);
        }

        if (value is null)
        {
            return null;
        }

        if (type is GraphQLListType list)
        {
            var result = new JsonArray();
            if (value is JsonArray array)
            {
                for (var i = 0; i < array.Count; i++)
                {
                    result.Add(CoerceValue(supergraph, array[i], list.Type, $"{at}[{i}]", out problem));
                    if (problem is not null)
                    {
                        return null;
                    }
                }
            }
            else
            {
                // A single value stands for a list of one (input coercion of lists, spec section 3.11).
                result.Add(CoerceValue(supergraph, value, list.Type, at, out problem));
            }

            return result;
        }

        var typeName = ((GraphQLNamedType)type).Name.StringValue;
        var named = supergraph.Types.GetValueOrDefault(typeName);
        switch (named?.Kind)
        {
            case TypeKind.Scalar:
                return CoerceScalar(typeName, value, at, out problem);
            case TypeKind.Enum:
                if (value is JsonValue e && e.GetValueKind() == JsonValueKind.String && named.EnumValues.Contains(e.GetValue<string>()))
                {
                    return JsonValue.Create(e.GetValue<string>());
                }

                problem = $"has an invalid value at {At(at)}: expected one of {string.Join(", ", named.EnumValues)}";
                return null;
            case TypeKind.InputObject:
                if (value is not JsonObject obj)
                {
                    problem = $"has an invalid value at {At(at)}: expected an object of type {typeName}";
                    return null;
                }

                foreach (var (key, _) in obj)
                {
                    if (!named.InputFields.ContainsKey(key))
                    {
                        problem = $"has the unknown field '{key}' at {At(at)} (type {typeName})";
                        return null;
                    }
                }

                var result = new JsonObject();
                foreach (var field in named.InputFields.Values)
                {
                    var path = at.Length == 0 ? field.Name : $"{at}.{field.Name}";
                    if (obj.TryGetPropertyValue(field.Name, out var fieldValue))
                    {
                        result[field.Name] = CoerceValue(supergraph, fieldValue, field.Type, path, out problem);
                        if (problem is not null)
                        {
                            return null;
                        }
                    }
                    else if (field.DefaultValue is not null)
                    {
                        result[field.Name] = FromLiteral(field.DefaultValue);
                    }
                    else if (field.Type is GraphQLNonNullType)
                    {
                        problem = $"lacks the required field '{path}'";
                        return null;
                    }
                }

                return result;
            default:
                problem = $"has the type {typeName}, which is not an input type";
                return null;
        }
    }

    private static JsonNode? CoerceScalar(string typeName, JsonNode value, string at, out string? problem)
    {
        problem = null;
        var kind = value.GetValueKind();
        switch (typeName)
        {
            case "Int":
                if (kind == JsonValueKind.Number && value.AsValue().TryGetValue<double>(out var number)
                    && number == Math.Floor(number) && number is >= int.MinValue and <= int.MaxValue)
                {
                    return JsonValue.Create((int)number);
                }

                break;
            case "Float":
                if (kind == JsonValueKind.Number)
                {
                    return JsonValue.Create(value.GetValue<double>());
                }

                break;
            case "String":
                if (kind == JsonValueKind.String)
                {
                    return JsonValue.Create(value.GetValue<string>());
                }

                break;
            case "Boolean":
                if (kind is JsonValueKind.True or JsonValueKind.False)
                {
                    return JsonValue.Create(kind == JsonValueKind.True);
                }

                break;
            case "ID":
                if (kind == JsonValueKind.String)
                {
                    return JsonValue.Create(value.GetValue<string>());
                }

                if (kind == JsonValueKind.Number && value.AsValue().TryGetValue<long>(out var id))
                {
                    return JsonValue.Create(id.ToString(CultureInfo.InvariantCulture));
                }

                break;
            default:
                // Custom scalars (DateTime...) are checked by the subgraph that owns the argument.
                return value.DeepClone();
        }

        problem = $"has an invalid value at {At(at)}: {value.ToJsonString()} is not a valid {typeName}";
        return null;
    }

    /// <summary>The JSON form of a constant literal (a default value).</summary>
    public static JsonNode? FromLiteral(GraphQLValue value) => value switch
    {
        GraphQLNullValue => null,
        GraphQLBooleanValue b => JsonValue.Create(b.BoolValue),
        GraphQLIntValue i => int.TryParse(i.Value.Span, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? JsonValue.Create(n)
            : JsonValue.Create(double.Parse(i.Value.Span, CultureInfo.InvariantCulture)),
        GraphQLFloatValue f => JsonValue.Create(double.Parse(f.Value.Span, NumberStyles.Float, CultureInfo.InvariantCulture)),
        GraphQLStringValue s => JsonValue.Create((string)s.Value),
        GraphQLEnumValue e => JsonValue.Create(e.Name.StringValue),
        GraphQLListValue list => new JsonArray([.. (list.Values ?? []).Select(FromLiteral)]),
        GraphQLObjectValue obj => new JsonObject((obj.Fields ?? []).Select(f => KeyValuePair.Create(f.Name.StringValue, FromLiteral(f.Value)))),
        _ => null,
    };

    private static string At(string at) => at.Length == 0 ? "the top" : at;

    private static string Print(GraphQLType type) => type switch
    {
        GraphQLNonNullType n => Print(n.Type) + "!",
        GraphQLListType l => "[" + Print(l.Type) + "]",
        GraphQLNamedType named => named.Name.StringValue,
        _ => "?",
    };
}
