using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Chirp.EndToEnd.Tests;

/// <summary>
/// One HTTP/1.1 request over a bare TCP connection, for what <see cref="HttpClient"/> will not send: several fields
/// of one header name (it folds them into one line) and values byte for byte.
/// </summary>
internal static class RawHttp
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Sends the request with <c>Connection: close</c> and reads the whole answer: status, headers (last one wins), body.</summary>
    public static async Task<(HttpStatusCode Status, Dictionary<string, string> Headers, string Body)> SendAsync(
        Uri baseAddress, HttpMethod method, string path, IReadOnlyList<(string Name, string Value)> headers, byte[]? body)
    {
        using var tcp = new TcpClient();
        using var timeout = new CancellationTokenSource(Timeout);
        await tcp.ConnectAsync(baseAddress.Host, baseAddress.Port, timeout.Token);
        var stream = tcp.GetStream();

        var request = new StringBuilder();
        request.Append(method.Method).Append(' ').Append(path).Append(" HTTP/1.1\r\n");
        request.Append("Host: ").Append(baseAddress.Authority).Append("\r\nConnection: close\r\nAccept: application/json\r\n");
        foreach (var (name, value) in headers)
        {
            request.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        if (body is not null)
        {
            request.Append("Content-Length: ").Append(body.Length).Append("\r\n");
        }

        request.Append("\r\n");
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()), timeout.Token);
            await stream.WriteAsync(body ?? [], timeout.Token);
        }
        catch (IOException)
        {
            // The server may answer (e.g. 431) and close before it has read everything; its answer is still readable.
        }

        using var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (IOException) when (received.Length > 0)
        {
        }

        var text = Encoding.UTF8.GetString(received.ToArray());
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, $"No HTTP response: {text}");
        var lines = text[..end].Split("\r\n");
        var status = (HttpStatusCode)int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var answer = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            answer[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        var content = text[(end + 4)..];
        return (status, answer, answer.GetValueOrDefault("Transfer-Encoding") == "chunked" ? Dechunk(content) : content);
    }

    /// <summary>The body of a chunked answer (bodies here are ASCII JSON, so characters and bytes line up).</summary>
    private static string Dechunk(string chunked)
    {
        var result = new StringBuilder();
        var at = 0;
        while (true)
        {
            var lineEnd = chunked.IndexOf("\r\n", at, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[at..lineEnd].Split(';')[0], 16);
            if (size == 0)
            {
                return result.ToString();
            }

            result.Append(chunked, lineEnd + 2, size);
            at = lineEnd + 2 + size + 2;
        }
    }
}
