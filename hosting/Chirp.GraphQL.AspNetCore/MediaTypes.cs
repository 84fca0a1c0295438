using System.Globalization;
using Microsoft.Extensions.Primitives;

namespace Chirp.GraphQL.AspNetCore;

/// <summary>
/// Reads media types from the text of <c>Content-Type</c> and <c>Accept</c> (RFC 9110 sections 8.3.1 and 12.5.1)
/// without building header objects: every GraphQL request and every subgraph answer asks, and parsing the headers into
/// lists of objects was a measurable share of the gateway's CPU (docs/architecture.md, section 7).
/// </summary>
public static class MediaTypes
{
    /// <summary>
    /// True when the media type of a <c>Content-Type</c> value (the <c>type/subtype</c> before any parameter) is
    /// <paramref name="mediaType"/>, ignoring case; false for null or empty.
    /// </summary>
    public static bool HasMediaType(string? contentType, string mediaType) =>
        contentType is not null && MediaType(contentType).Equals(mediaType, StringComparison.OrdinalIgnoreCase);

    /// <summary>The <c>type/subtype</c> of a media type value, without parameters and surrounding whitespace.</summary>
    public static ReadOnlySpan<char> MediaType(ReadOnlySpan<char> value)
    {
        var semicolon = value.IndexOf(';');
        return (semicolon < 0 ? value : value[..semicolon]).Trim();
    }

    /// <summary>
    /// The media ranges of an <c>Accept</c> header, in the order sent, each with its quality (0 to 1; 1 when
    /// absent). Ranges whose quality does not parse are skipped, as the framework's own parser skips them.
    /// </summary>
    public static AcceptEnumerator Accepted(StringValues accept) => new(accept);

    /// <summary>Enumerates the media ranges of an <c>Accept</c> header; see <see cref="Accepted"/>.</summary>
    public struct AcceptEnumerator
    {
        private readonly StringValues _values;
        private int _next;
        private string _value;
        private int _position;
        private int _start;
        private int _length;

        internal AcceptEnumerator(StringValues values)
        {
            _values = values;
            _next = 0;
            _value = string.Empty;
            _position = 0;
            _start = 0;
            _length = 0;
            Quality = 0;
        }

        /// <summary>The current range's <c>type/subtype</c> (for example <c>application/*</c>).</summary>
        public readonly ReadOnlySpan<char> Current => _value.AsSpan(_start, _length);

        /// <summary>The current range's quality, 0 to 1.</summary>
        public double Quality { get; private set; }

        /// <summary>Moves to the next range; false at the end.</summary>
        public bool MoveNext()
        {
            while (true)
            {
                while (_position >= _value.Length)
                {
                    if (_next >= _values.Count)
                    {
                        return false;
                    }

                    _value = _values[_next++] ?? string.Empty;
                    _position = 0;
                }

                var elementStart = _position;
                var elementEnd = EndOfElement(_value, _position);
                _position = elementEnd + 1;
                var element = _value.AsSpan(elementStart, elementEnd - elementStart);
                var range = MediaType(element);
                var rangeStart = element.Length - element.TrimStart().Length;
                if (range.IsEmpty || !TryReadQuality(element[(rangeStart + range.Length)..], out var quality))
                {
                    continue;
                }

                _start = elementStart + rangeStart;
                _length = range.Length;
                Quality = quality;
                return true;
            }
        }

        // Where a list element ends: at the next comma outside a quoted string (RFC 9110 section 5.6.1), or the end.
        private static int EndOfElement(string value, int from)
        {
            var quoted = false;
            for (var i = from; i < value.Length; i++)
            {
                switch (value[i])
                {
                    case '"':
                        quoted = !quoted;
                        break;
                    case '\\' when quoted:
                        i++;
                        break;
                    case ',' when !quoted:
                        return i;
                }
            }

            return value.Length;
        }

        // The "q" parameter among a range's parameters (";q=0.5"); 1 without one.
        private static bool TryReadQuality(ReadOnlySpan<char> parameters, out double quality)
        {
            quality = 1;
            while (!parameters.IsEmpty)
            {
                var semicolon = parameters.IndexOf(';');
                if (semicolon < 0)
                {
                    return true;
                }

                parameters = parameters[(semicolon + 1)..];
                var end = parameters.IndexOf(';');
                var parameter = (end < 0 ? parameters : parameters[..end]).Trim();
                var equals = parameter.IndexOf('=');
                if (equals > 0 && parameter[..equals].TrimEnd().Equals("q", StringComparison.OrdinalIgnoreCase))
                {
                    return double.TryParse(parameter[(equals + 1)..].Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out quality)
                        && quality is >= 0 and <= 1;
                }
            }

            return true;
        }
    }
}
