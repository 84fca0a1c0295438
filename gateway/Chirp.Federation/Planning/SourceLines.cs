using GraphQLParser.AST;

namespace Chirp.Federation.Planning;

/// <summary>Turns source offsets into the 1-based line and column of GraphQL error locations (spec section 7.1.2).</summary>
internal sealed class SourceLines
{
    private readonly List<int> _starts = [0];
    private readonly bool _hasLocations;

    public SourceLines(GraphQLDocument document)
    {
        var source = document.Source.Span;
        _hasLocations = document.Location.End > 0;
        for (var i = 0; i < source.Length; i++)
        {
            if (source[i] == '\n' || (source[i] == '\r' && (i + 1 >= source.Length || source[i + 1] != '\n')))
            {
                _starts.Add(i + 1);
            }
        }
    }

    public (int Line, int Column)? Find(GraphQLLocation location)
    {
        if (!_hasLocations)
        {
            return null;
        }

        var index = _starts.BinarySearch(location.Start);
        var line = index >= 0 ? index : ~index - 1;
        return (line + 1, location.Start - _starts[line] + 1);
    }
}
