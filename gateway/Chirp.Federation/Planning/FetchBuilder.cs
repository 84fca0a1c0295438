using System.Text;
using GraphQLParser.AST;
using GraphQLParser.Visitors;

namespace Chirp.Federation.Planning;

/// <summary>A selection in a subgraph document being built.</summary>
internal abstract class FetchItem;

/// <summary>A field in a subgraph document: <c>alias: name(arguments) { children }</c>.</summary>
internal sealed class FetchField(string? alias, string name, GraphQLArguments? arguments = null) : FetchItem
{
    public string? Alias { get; } = alias;

    public string Name { get; } = name;

    public GraphQLArguments? Arguments { get; } = arguments;

    public List<FetchItem>? Children { get; set; }

    public string ResponseKey => Alias ?? Name;
}

/// <summary>An inline fragment in a subgraph document: <c>... on Type { children }</c>.</summary>
internal sealed class FetchFragment(string typeName, List<FetchItem> children) : FetchItem
{
    public string TypeName { get; } = typeName;

    public List<FetchItem> Children { get; } = children;
}

/// <summary>One subgraph fetch while the plan is being built.</summary>
internal sealed class FetchBuilder(string subgraph, OperationType operation, string? entityType)
{
    public string Subgraph { get; } = subgraph;

    public OperationType Operation { get; } = operation;

    /// <summary>For an entity fetch: the type in <c>... on Type</c>; null for a root fetch.</summary>
    public string? EntityType { get; } = entityType;

    /// <summary>Root fields, or the fields inside <c>... on EntityType</c>.</summary>
    public List<FetchItem> Items { get; } = [];

    public HashSet<string> Variables { get; } = new(StringComparer.Ordinal);

    public List<FetchBuilder> DependsOn { get; } = [];

    public List<EntityLocation> Locations { get; } = [];

    public List<string> RootKeys { get; } = [];

    /// <summary>Records the variables that <paramref name="node"/> (an argument value) uses.</summary>
    public void UseVariables(ASTNode? node)
    {
        switch (node)
        {
            case GraphQLArguments arguments:
                foreach (var argument in arguments.Items)
                {
                    UseVariables(argument.Value);
                }

                break;
            case GraphQLVariable variable:
                Variables.Add(variable.Name.StringValue);
                break;
            case GraphQLListValue list:
                foreach (var item in list.Values ?? [])
                {
                    UseVariables(item);
                }

                break;
            case GraphQLObjectValue obj:
                foreach (var field in obj.Fields ?? [])
                {
                    UseVariables(field.Value);
                }

                break;
        }
    }

    /// <summary>Appends <c>$name:Type=default</c> for each client variable this fetch uses, comma first.</summary>
    public void PrintVariables(IReadOnlyDictionary<string, GraphQLVariableDefinition> definitions, StringBuilder text, SDLPrinter printer)
    {
        foreach (var (name, definition) in definitions)
        {
            if (!Variables.Contains(name))
            {
                continue;
            }

            text.Append(",$").Append(name).Append(':').Append(printer.Print(definition.Type));
            if (definition.DefaultValue is not null)
            {
                text.Append('=').Append(printer.Print(definition.DefaultValue));
            }
        }
    }

    /// <summary>The selection set: the root fields, or <c>...on EntityType{fields}</c>.</summary>
    public string PrintSelection(SDLPrinter printer)
    {
        var text = new StringBuilder();
        if (EntityType is not null)
        {
            text.Append("{...on ").Append(EntityType);
            PrintSelection(Items, text, printer);
            text.Append('}');
        }
        else
        {
            PrintSelection(Items, text, printer);
        }

        return text.ToString();
    }

    private static void PrintSelection(List<FetchItem> items, StringBuilder text, SDLPrinter printer)
    {
        text.Append('{');
        var first = true;
        foreach (var item in items)
        {
            if (!first)
            {
                text.Append(' ');
            }

            first = false;
            switch (item)
            {
                case FetchField field:
                    if (field.Alias is not null)
                    {
                        text.Append(field.Alias).Append(':');
                    }

                    text.Append(field.Name);
                    if (field.Arguments is { Items.Count: > 0 } arguments)
                    {
                        text.Append('(');
                        for (var i = 0; i < arguments.Items.Count; i++)
                        {
                            if (i > 0)
                            {
                                text.Append(',');
                            }

                            text.Append(arguments.Items[i].Name.StringValue).Append(':').Append(printer.Print(arguments.Items[i].Value));
                        }

                        text.Append(')');
                    }

                    if (field.Children is not null)
                    {
                        PrintSelection(field.Children, text, printer);
                    }

                    break;
                case FetchFragment fragment:
                    text.Append("...on ").Append(fragment.TypeName);
                    PrintSelection(fragment.Children, text, printer);
                    break;
            }
        }

        text.Append('}');
    }
}
